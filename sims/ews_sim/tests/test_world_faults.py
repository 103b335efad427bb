"""Request gate: injected HTTP errors, ErrorServerBusy, the concurrency budget, latency and counters."""

from __future__ import annotations

import pytest

from ews_sim.world import DEFAULT_MAX_CONCURRENCY, Gate, HttpFault, ItemNotFound, ServerBusy


def test_http_errors_hit_the_next_requests_only() -> None:
    gate = Gate()
    gate.fail_http(503, count=2)
    for _ in range(2):
        with pytest.raises(HttpFault) as info, gate.request("FindItem", "svc"):
            pass
        assert info.value.status == 503
    with gate.request("FindItem", "svc"):
        pass
    assert gate.counters()["FindItem"] == {"HTTP 503": 2, "NoError": 1, "total": 3}


def test_server_busy_carries_backoff_and_can_target_one_account() -> None:
    gate = Gate()
    gate.server_busy(count=1, backoff_ms=1234, account="svc")
    with gate.request("GetItem", "other"):
        pass
    with pytest.raises(ServerBusy) as info, gate.request("GetItem", "svc"):
        pass
    assert info.value.backoff_ms == 1234
    assert info.value.response_code == "ErrorServerBusy"
    with gate.request("GetItem", "svc"):
        pass


def test_server_busy_without_count_lasts_until_cleared() -> None:
    gate = Gate()
    gate.server_busy(count=None)
    for _ in range(3):
        with pytest.raises(ServerBusy):
            gate.admit("GetItem", "svc")
    gate.clear()
    gate.release(gate.admit("GetItem", "svc"))


def test_concurrency_budget_per_account() -> None:
    gate = Gate()
    assert gate.max_concurrency == DEFAULT_MAX_CONCURRENCY == 27
    gate.set_max_concurrency(2)
    first, second = gate.admit("GetItem", "svc"), gate.admit("GetItem", "svc")
    with pytest.raises(ServerBusy):
        gate.admit("GetItem", "svc")
    gate.release(gate.admit("GetItem", "someone-else"))
    gate.release(first)
    third = gate.admit("GetItem", "svc")
    gate.release(second)
    gate.release(third)
    assert gate.in_flight("svc") == 0


def test_latency_is_handed_to_the_protocol_layer() -> None:
    gate = Gate()
    gate.set_latency(250)
    with gate.request("FindItem", None) as ticket:
        assert ticket.delay_seconds == 0.25


def test_errors_escaping_the_block_are_counted_by_response_code_and_counters_reset() -> None:
    gate = Gate()
    with pytest.raises(ItemNotFound), gate.request("GetItem", "svc"):
        raise ItemNotFound()
    assert gate.counters() == {"GetItem": {"ErrorItemNotFound": 1, "total": 1}}
    gate.reset_counters()
    assert gate.counters() == {}


def test_faults_can_target_one_operation() -> None:
    gate = Gate()
    gate.fail_http(500, count=1, operation="SyncFolderItems")
    gate.server_busy(count=1, backoff_ms=10, operation="GetEvents")
    with gate.request("GetItem", "svc"):
        pass
    with pytest.raises(HttpFault), gate.request("SyncFolderItems", "svc"):
        pass
    with pytest.raises(ServerBusy), gate.request("GetEvents", "svc"):
        pass
    assert gate.settings().http_errors == [] and gate.settings().server_busy == []
    gate.fail_http(503, count=2, operation="GetItem")
    assert gate.settings().http_errors == [{"status": 503, "remaining": 2, "operation": "GetItem"}]
