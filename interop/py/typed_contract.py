"""The `typed` contract of the interop suite (clamator 0.1.9, Pydantic): failure as data and
the wire-type table. Mirrors interop/src/typed.rs; imported by driver.py.

- `start`: returns a result union discriminated by a boolean `ok`
  (RootModel[Started | Refused], Field(discriminator="ok")).
- `echoRow`: returns the row unchanged; one field per row of the wire-type table.
"""
from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Annotated, Any, Literal, Union

from clamator_over_redis import RedisRpcClient
from clamator_protocol import Contract, MethodEntry
from pydantic import BaseModel, ConfigDict, Field, RootModel


class StartParams(BaseModel):
    job: str = Field(min_length=1)


class Started(BaseModel):
    ok: Literal[True] = True
    run_id: str = Field(alias="runId")


class Refused(BaseModel):
    ok: Literal[False] = False
    reason: str


class StartOutcome(RootModel[Annotated[Union[Started, Refused], Field(discriminator="ok")]]):
    pass


class Row(BaseModel):
    # bytes as base64 (Pydantic's default is UTF-8 text, which cannot carry arbitrary bytes).
    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    at: datetime.datetime
    local_time: datetime.datetime = Field(alias="localTime")
    day: datetime.date
    id: uuid.UUID
    price: decimal.Decimal
    blob: bytes
    count: int
    ratio: float
    color: Literal["red", "dark-blue"]
    note: str | None = None
    parent: int | None


ROW = Row(
    at=datetime.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=datetime.timezone.utc),
    localTime=datetime.datetime(2026, 1, 2, 3, 4, 5),
    day=datetime.date(2026, 1, 2),
    id=uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
    price=decimal.Decimal("12.50"),
    blob=b"\x00\xffhi",
    count=5,
    ratio=5.0,
    color="dark-blue",
    parent=None,
)


class AddParams(BaseModel):
    a: float
    b: float


class IntSum(BaseModel):
    sum: int


class FloatSum(BaseModel):
    sum: float


TYPED = Contract(
    service="typed",
    methods={
        "start": MethodEntry(StartParams, StartOutcome, "start"),
        "echoRow": MethodEntry(Row, Row, "echo_row"),
    },
)


class TypedService:
    async def start(self, p: StartParams) -> StartOutcome:
        if p.job == "missing":
            return StartOutcome(Refused(reason="not-found"))
        return StartOutcome(Started(runId=f"run-{p.job}"))

    async def echo_row(self, row: Row) -> Row:
        return row


async def _call(c: RedisRpcClient, service: str, method: str, params: BaseModel, model: Any) -> Any:
    raw = await c.call(service, method, params.model_dump(mode="json", by_alias=True))
    return raw, model.model_validate(raw)


async def sc_outcomes(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    success_raw, success = await _call(c, "typed", "start", StartParams(job="build"), StartOutcome)
    refusal_raw, refusal = await _call(c, "typed", "start", StartParams(job="missing"), StartOutcome)
    return {
        "variants": [type(success.root).__name__, type(refusal.root).__name__],
        "success": success_raw,
        "refusal": refusal_raw,
    }


async def sc_types(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    raw, received = await _call(c, "typed", "echoRow", ROW, Row)
    return {"equal": received == ROW, "received": raw}


async def sc_int_vs_float(c: RedisRpcClient, run_id: str) -> dict[str, Any]:
    # Pydantic's lax `int` takes an integral float (5.0); a Rust `i64` does not.
    _, as_int = await _call(c, "arith", "add", AddParams(a=2, b=3), IntSum)
    _, as_float = await _call(c, "arith", "add", AddParams(a=2, b=3), FloatSum)
    return {"int": {"result": as_int.sum}, "float": as_float.sum}


TYPED_SCENARIOS = {
    "outcomes": sc_outcomes,
    "types": sc_types,
    "int_vs_float": sc_int_vs_float,
}
