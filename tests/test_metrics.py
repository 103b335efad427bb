"""/metrics is Prometheus text that prometheus-client's own parser reads back."""

from prometheus_client.parser import text_string_to_metric_families

from tc_calendar.metrics import Metrics


def test_metrics_render_as_prometheus_text_with_every_family() -> None:
    metrics = Metrics()
    metrics.set_mailbox_states({"ok": 3, "error": 1})
    metrics.ews_requests.labels(operation="SyncFolderItems", result="ok").inc()
    metrics.launches.labels(outcome="started").inc()
    metrics.sync_latency.observe(0.2)
    metrics.ws_clients.set(2)

    families = {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}

    assert {
        "tc_calendar_mailboxes",
        "tc_calendar_sync_latency_seconds",
        "tc_calendar_ews_requests",
        "tc_calendar_websocket_clients",
        "tc_calendar_mailboxes_without_notifications",
        "tc_calendar_conference_launches",
    } <= set(families)
    states = {s.labels["state"]: s.value for s in families["tc_calendar_mailboxes"].samples}
    assert states["ok"] == 3 and states["error"] == 1 and states["pending"] == 0
