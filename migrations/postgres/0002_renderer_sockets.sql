-- Renderers serve on Unix sockets under <data-dir>/run/ (one per sandbox, named after its id),
-- so no TCP port is leased any more. `sandboxes.renderer_port` stays: a row that still has a
-- port marks a sandbox started before this change, which Studio moves onto its socket at start.
DROP INDEX IF EXISTS port_leases_by_sandbox;
DROP TABLE IF EXISTS port_leases;
