//! Deployment defaults: the Docker image and the compose file (read as text: these machines have
//! no Docker engine) and the server's refusal to listen beyond loopback without an API token
//! (the real binary).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn docker_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docker")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The instructions of the final stage of a Dockerfile (after its last `FROM`), continuation
/// lines joined.
fn final_stage(dockerfile: &str) -> Vec<String> {
    let joined = dockerfile.replace("\\\n", " ");
    let lines: Vec<String> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let last_from = lines
        .iter()
        .rposition(|l| l.starts_with("FROM "))
        .expect("a FROM line");
    lines[last_from..].to_vec()
}

#[test]
fn the_image_runs_node_22_as_a_non_root_user_with_a_health_check() {
    let stage = final_stage(&docker_file("Dockerfile"));
    let from = &stage[0];
    assert!(
        from.starts_with("FROM node:22-"),
        "the runtime image must be the official Node 22 image: {from}"
    );
    assert!(
        !stage
            .iter()
            .any(|l| l.starts_with("RUN") && l.contains(" nodejs")),
        "Debian's nodejs (18 on bookworm) must not replace the image's Node 22"
    );

    let user = stage
        .iter()
        .rfind(|l| l.starts_with("USER "))
        .expect("the runtime stage sets USER");
    let name = user["USER ".len()..].split(':').next().unwrap().trim();
    assert!(
        !matches!(name, "root" | "0" | ""),
        "the server must not run as root: {user}"
    );
    let entry = stage
        .iter()
        .position(|l| l.starts_with("ENTRYPOINT") || l.starts_with("CMD"))
        .unwrap();
    let user_at = stage.iter().position(|l| l == user).unwrap();
    assert!(user_at < entry, "USER comes before the server starts");

    assert!(
        stage
            .iter()
            .any(|l| l.starts_with("RUN") && l.contains(" bubblewrap")),
        "the image installs bubblewrap, the renderers' jail"
    );

    let health = stage
        .iter()
        .find(|l| l.starts_with("HEALTHCHECK"))
        .expect("a HEALTHCHECK");
    assert!(health.contains("/healthz"), "{health}");

    // Listening on every interface, the server itself requires the token (see the test below);
    // the image must not bake one in.
    assert!(stage.iter().any(|l| l.contains("STUDIO_LISTEN=0.0.0.0:")));
    assert!(
        !stage.iter().any(|l| l.contains("STUDIO_API_TOKEN=")),
        "a token in the image is everyone's token"
    );
}

#[test]
fn compose_runs_studio_with_postgres_16_a_data_volume_and_the_token_from_an_env_file() {
    let compose = docker_file("compose.yaml");
    let has = |needle: &str| compose.lines().any(|l| l.trim() == needle);
    assert!(has("image: postgres:16"), "{compose}");
    assert!(
        compose.contains("DATABASE_URL: postgres://"),
        "Studio is pointed at the postgres service"
    );
    assert!(
        has("- studio-data:/data"),
        "a volume for the data directory"
    );
    assert!(has("env_file: studio.env"), "secrets come from an env file");
    assert!(
        !compose.contains("STUDIO_API_TOKEN:"),
        "no token written in the file"
    );
    assert!(has("dockerfile: docker/Dockerfile"));
    // Without them, the container's profiles forbid the namespaces of the renderers' jail.
    assert!(
        has("- seccomp=unconfined") && has("- apparmor=unconfined"),
        "{compose}"
    );
    let ignored = docker_file(".gitignore");
    assert!(ignored.lines().any(|l| l.trim() == "studio.env"));
}

#[test]
fn serve_refuses_a_non_loopback_listen_address_without_a_token() {
    let data = tempfile::tempdir().unwrap();
    for listen in ["0.0.0.0:0", "[::]:0"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_studio"))
            .args(["serve", "--listen", listen, "--data-dir"])
            .arg(data.path())
            .env_remove("STUDIO_API_TOKEN")
            .env_remove("STUDIO_LISTEN")
            // Sqlite in the temporary data dir, whatever the environment says.
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("studio serve --listen {listen} without a token kept running");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{listen}: {stderr}");
        assert!(
            stderr.contains("refusing to listen on") && stderr.contains("STUDIO_API_TOKEN"),
            "{listen}: {stderr}"
        );
        assert!(
            !String::from_utf8_lossy(&output.stdout).contains("listening on"),
            "it must not have bound: {stderr}"
        );
    }
}
