/**
 * The messages of a sandbox's WebSocket stream (`GET /api/v1/sandboxes/{id}/ws`), written by hand:
 * OpenAPI describes only the upgrade, not what flows over it. See docs/api.md, "WebSocket".
 *
 * Every event is `{type, payload, seq}`; `seq` increases by one per sandbox, so a client that
 * reconnects with `?since=<seq>` gets exactly what it missed. The one message without `seq` is the
 * server's `error` reply to a message this client sent ({@link ClientErrorReply}).
 */
export {};
