// Studio's npm bridge: runs INSIDE the npm jail, whose network namespace has only `lo`.
//
//   node npm_bridge.mjs <proxy-unix-socket> <npm-cli-program> [npm args...]
//
// npm can only speak to an HTTP proxy over TCP, but the only way out of the jail is the Unix
// socket of Studio's registry proxy (bind-mounted in; see registry_proxy.rs). So this script
// listens on a loopback TCP port, splices every connection to that Unix socket byte for byte,
// and runs npm with its proxy settings pointing at the loopback port. It never looks at the
// bytes: the allow-list lives in the Rust proxy, outside the jail, where npm cannot change it.
//
// Plain Node, no dependencies: it runs before any package is installed.

import net from 'node:net';
import { spawn } from 'node:child_process';
import process from 'node:process';

const [proxySocket, npmProgram, ...npmArgs] = process.argv.slice(2);
if (!proxySocket || !npmProgram) {
  console.error('usage: node npm_bridge.mjs <proxy-unix-socket> <npm-cli-program> [npm args...]');
  process.exit(2);
}

// Half-open connections stay allowed on both ends so that a client finishing its request (FIN)
// still receives the whole answer: `pipe` forwards the FIN, and each socket closes only once
// both directions are done.
const server = net.createServer({ allowHalfOpen: true }, (client) => {
  const upstream = net.connect({ path: proxySocket, allowHalfOpen: true });
  // Either side failing or closing ends the pair: a half-dead tunnel would only make npm wait
  // for its own timeout. Errors are expected (npm aborts sockets) and not worth a message.
  const closeBoth = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', closeBoth);
  upstream.on('error', closeBoth);
  client.on('close', closeBoth);
  upstream.on('close', closeBoth);
  // Writes before `connect` completes are buffered by Node, so piping right away loses nothing.
  client.pipe(upstream);
  upstream.pipe(client);
});

server.on('error', (err) => {
  console.error(`studio npm bridge: cannot listen on 127.0.0.1: ${err.message}`);
  process.exit(1);
});

// Port 0: the kernel picks a free port, so concurrent jails never collide (each has its own
// loopback anyway, but the bridge must not assume it).
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const proxyUrl = `http://127.0.0.1:${port}`;

  // npm reads its configuration from the environment case-insensitively, and falls back to
  // HTTP(S)_PROXY / NO_PROXY. Drop every spelling of those so that the operator's settings
  // (which point at hosts unreachable from the jail) cannot win over ours; the registry proxy
  // outside the jail already chains through the operator's proxy when there is one.
  const overridden = new Set([
    'npm_config_proxy',
    'npm_config_https_proxy',
    'npm_config_http_proxy',
    'npm_config_noproxy',
    'npm_config_no_proxy',
    'http_proxy',
    'https_proxy',
    'no_proxy',
  ]);
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!overridden.has(key.toLowerCase())) env[key] = value;
  }
  env.npm_config_proxy = proxyUrl;
  env.npm_config_https_proxy = proxyUrl;
  // Empty: no host may bypass the proxy (a direct connection would fail in the jail anyway, but
  // with a confusing error instead of the proxy's 403 naming the refused host).
  env.npm_config_noproxy = '';

  const npm = spawn(npmProgram, npmArgs, { stdio: 'inherit', env });

  // The jail's supervisor signals the bridge (the jail's first process); npm must hear it too,
  // and the bridge then exits with npm's own status below.
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      npm.kill(signal);
    });
  }

  npm.on('error', (err) => {
    console.error(`studio npm bridge: cannot run ${npmProgram}: ${err.message}`);
    server.close();
    process.exit(1);
  });

  npm.on('exit', (code, signal) => {
    // `server.close` alone would wait for open tunnels; exiting right away ends them, which is
    // what we want once npm is gone.
    server.close();
    if (code !== null) {
      process.exit(code);
    }
    console.error(`studio npm bridge: ${npmProgram} was killed by ${signal}`);
    process.exit(1);
  });
});
