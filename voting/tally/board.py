"""The ballot log's hash chain and the bulletin board: writing and checking, standard library only.

**Log entry.** Each ballot becomes one entry, the canonical JSON of

    {"area": <area id or null>, "ballot": "<ballot id>", "round": "<round link id>",
     "selections": {"<proposal id>": <points>, ...}, "seq": <n>, "tracker": "<64 hex>"}

with the keys sorted (also inside "selections"), no spaces, UTF-8, and numbers written as
integers. Sequence numbers start at 1 and have no gaps. The entry names no channel: within a mixed
batch a rare channel (assisted, paper) would point an observer who saw someone vote at a service
point straight at that person's entry; the roll counts the channels per area instead.

**Tracker.** The SHA-256 (64 lowercase hexadecimal characters) of the entry's body: the canonical
JSON of area, ballot, round and selections alone. It is known when the ballot is cast, before the
ballot has a place in the log, and it is the voter's receipt.

**Hash.** hash(n) = SHA-256 over the UTF-8 bytes of hash(n-1) as 64 lowercase hexadecimal
characters followed directly by entry n; hash(0) is 64 zeros. The head of the log is the hash of
its last entry; a receipt is the tracker of the voter's own entry.

**Bulletin board** (JSON Lines, one object per line, each line ending in a newline):

1. ``{"type": "round", ...}`` – the round's definition: ``format`` (``tori-board/2``), ``round``,
   ``title``, ``ballot_rule``, ``max_choices``, ``points_total``, ``points_per_proposal``,
   ``official_rule``, ``budgets`` (``[{"area", "name", "amount"}]``; area null is city-wide) and
   ``projects`` (``[{"id", "area", "cost", "title"}]``);
2. ``{"type": "entry", "seq", "entry", "hash"}`` for every entry in order (``entry`` is the
   canonical text above, as a JSON string);
3. ``{"type": "head", "count", "hash"}``;
4. ``{"type": "tally", "budgets": [{"area", "amount", "voters", "votes", "selected"}]}``: per
   budget, the voters who chose something there, each project's votes (points for points
   ballots) and the project ids the official rule selects;
5. ``{"type": "signature", "algorithm": "ed25519", "public_key", "signature"}``: the Ed25519
   signature (base64) of the SHA-256 digest of every preceding byte of the file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from voting.tally.rounds import RULE_COLUMNS, budget_election, count_rule
from voting.tally.rules import votes_per_project

GENESIS = "0" * 64
FORMAT = "tori-board/2"
ENTRY_KEYS = ("area", "ballot", "round", "selections", "seq", "tracker")
CHANNELS = ("online", "assisted", "paper")
MAX_LINE = 1_000_000
RECEIPT_ALPHABET = frozenset("0123456789abcdef")


def canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_body(round_link: str, area: int | None, ballot_id: str, selections: dict) -> str:
    """The entry without its sequence number and tracker: what the caster knows before the log
    hands out the number. Its hash is the tracker."""
    return canonical(
        {
            "area": area,
            "ballot": ballot_id,
            "round": round_link,
            "selections": {str(k): int(v) for k, v in selections.items()},
        }
    )


def tracker_of(body: str) -> str:
    """The ballot's tracker: SHA-256 of its body, the voter's receipt."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def entry_text(body: str, seq: int) -> str:
    """The canonical entry: the body with `"seq":n` and `"tracker":"…"` added as its last keys
    (they sort after every key of the body)."""
    return f'{body[:-1]},"seq":{int(seq)},"tracker":"{tracker_of(body)}"}}'


def chain_hash(previous: str, text: str) -> str:
    return hashlib.sha256((previous + text).encode("utf-8")).hexdigest()


def normalise_receipt(text: str) -> str | None:
    """A receipt as typed or printed (any case, spaces or dashes between groups), or None."""
    cleaned = "".join(text.split()).replace("-", "").lower()
    if len(cleaned) != 64 or not set(cleaned) <= RECEIPT_ALPHABET:
        return None
    return cleaned


def grouped(receipt: str) -> str:
    """A receipt for reading aloud or copying by hand: eight groups of eight."""
    return " ".join(receipt[i : i + 8] for i in range(0, len(receipt), 8))


# --- checking a board ---------------------------------------------------------------------------


class BoardError(ValueError):
    """The board is not valid: the message names the first failing line, entry or field."""


@dataclass
class Verdict:
    entries: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)
    signature: str = "absent"
    receipts: dict[str, bool] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.problems and all(self.receipts.values())


def _object(line: bytes, number: int) -> dict:
    if len(line) > MAX_LINE:
        raise BoardError(f"line {number}: longer than {MAX_LINE} bytes")
    try:
        value = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise BoardError(f"line {number}: not UTF-8 text") from error
    except json.JSONDecodeError as error:
        raise BoardError(f"line {number}: not valid JSON ({error.msg})") from error
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise BoardError(f'line {number}: not a board record (no "type")')
    return value


def _expect_keys(record: dict, keys: set[str], where: str) -> None:
    unknown = set(record) - keys - {"type"}
    missing = keys - set(record)
    if missing:
        raise BoardError(f"{where}: missing field {sorted(missing)[0]!r}")
    if unknown:
        raise BoardError(f"{where}: unknown field {sorted(unknown)[0]!r}")


ROUND_KEYS = {
    "format",
    "round",
    "title",
    "ballot_rule",
    "max_choices",
    "points_total",
    "points_per_proposal",
    "official_rule",
    "budgets",
    "projects",
    "voting_open_at",
    "voting_close_at",
    "changes",
}


def _check_definition(record: dict) -> None:
    _expect_keys(record, ROUND_KEYS, "line 1 (round)")
    if record["format"] != FORMAT:
        raise BoardError(f"line 1 (round): unknown format {record['format']!r}, expected {FORMAT}")
    if record["official_rule"] not in RULE_COLUMNS:
        raise BoardError(f"line 1 (round): unknown official rule {record['official_rule']!r}")
    for budget in record["budgets"]:
        if not isinstance(budget, dict) or not isinstance(budget.get("amount"), int):
            raise BoardError("line 1 (round): a budget without a whole-number amount")
    for project in record["projects"]:
        if not isinstance(project, dict) or not isinstance(project.get("cost"), int):
            raise BoardError("line 1 (round): a project without a whole-number cost")


def _check_entry(
    record: dict, number: int, expected_seq: int, previous: str, round_link: str
) -> tuple[str, dict]:
    where = f"line {number} (entry {expected_seq})"
    _expect_keys(record, {"seq", "entry", "hash"}, where)
    if record["seq"] != expected_seq:
        raise BoardError(
            f"{where}: sequence number {record['seq']!r}, expected {expected_seq} (an entry is missing, repeated or out of order)"
        )
    text = record["entry"]
    if not isinstance(text, str):
        raise BoardError(f"{where}: the entry is not a string")
    try:
        entry = json.loads(text)
    except json.JSONDecodeError as error:
        raise BoardError(f"{where}: the entry is not JSON") from error
    if not isinstance(entry, dict) or set(entry) != set(ENTRY_KEYS):
        raise BoardError(f"{where}: the entry must have exactly the keys {', '.join(ENTRY_KEYS)}")
    if canonical(entry) != text:
        raise BoardError(f"{where}: the entry is not in canonical form")
    if entry["seq"] != expected_seq:
        raise BoardError(f"{where}: the entry says sequence {entry['seq']!r}")
    if entry["round"] != round_link:
        raise BoardError(f"{where}: the entry belongs to round {entry['round']!r}")
    body = {key: entry[key] for key in ("area", "ballot", "round", "selections")}
    if entry["tracker"] != tracker_of(canonical(body)):
        raise BoardError(f"{where}: the tracker is not the hash of the entry's ballot")
    expected_hash = chain_hash(previous, text)
    if record["hash"] != expected_hash:
        raise BoardError(f"{where}: the hash does not match the entry and the previous hash")
    return expected_hash, entry


def recount(definition: dict, ballots: list[tuple[int | None, dict]]) -> list[dict]:
    """The tally of the board's own ballots (area, selections) under the round's official rule:
    per budget, the voters who chose something there, each project's votes, the selection."""
    points = definition["ballot_rule"] == "points"
    rule = definition["official_rule"]
    result = []
    for budget in definition["budgets"]:
        area = budget["area"]
        costs = {str(p["id"]): p["cost"] for p in definition["projects"] if p["area"] == area}
        election = budget_election(area, budget["amount"], costs, ballots, points)
        votes = votes_per_project(election)
        result.append(
            {
                "area": area,
                "amount": budget["amount"],
                "voters": len(election.ballots),
                "votes": {p: int(votes[p]) for p in sorted(costs, key=int)},
                "selected": sorted(count_rule(election, rule, points).selected, key=int),
            }
        )
    return result


def signed_digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def check_board(
    lines: Iterable[bytes],
    receipts: Iterable[str] = (),
    checkpoints: Iterable[tuple[int, str]] = (),
    verify_signature=None,
) -> Verdict:
    """Check a bulletin board read line by line (bytes, newline included). `verify_signature`
    is called with (public key, signature, digest) and returns True, False or None (not able
    to check). Raises nothing: the verdict names the first problem found."""
    checker = BoardChecker(receipts, checkpoints, verify_signature)
    for line in lines:
        if not checker.feed(line):
            break
    return checker.finish()


class BoardChecker:
    """The checks of `check_board`, fed one line at a time, so that a board is checked as it is
    read from a file or from the database."""

    def __init__(
        self,
        receipts: Iterable[str] = (),
        checkpoints: Iterable[tuple[int, str]] = (),
        verify_signature=None,
    ) -> None:
        self.verdict = Verdict()
        self.wanted: dict[str, str] = {}
        for receipt in receipts:
            normal = normalise_receipt(receipt)
            if normal is None:
                self.verdict.problems.append(
                    f"receipt {receipt[:80]!r}: not 64 hexadecimal characters"
                )
            else:
                self.wanted[normal] = receipt
        self.found: set[str] = set()
        self.marks = dict(checkpoints)
        self.verify_signature = verify_signature
        self.digest = hashlib.sha256()
        self.definition: dict | None = None
        self.ballots: list[tuple[int | None, dict]] = []
        self.previous = GENESIS
        self.stage = "round"
        self.number = 0

    def feed(self, line: bytes) -> bool:
        """Check one more line; False once a problem was found (stop feeding)."""
        try:
            self._line(line)
        except BoardError as error:
            self.verdict.problems.append(str(error))
            self.stage = "failed"
            return False
        return True

    def finish(self) -> Verdict:
        if self.stage != "failed":
            missing = {
                "round": "the round's definition",
                "entries": "the head",
                "tally": "the tally",
                "signature": "the signature",
            }
            if self.stage in missing:
                self.verdict.problems.append(
                    f"after line {self.number}: the board ends without {missing[self.stage]}"
                    " (truncated)"
                )
            for seq in self.marks:
                if seq > len(self.ballots):
                    self.verdict.problems.append(
                        f"checkpoint {seq}: the board has only {len(self.ballots)} entries"
                        " (entries were removed)"
                    )
        for normal, original in self.wanted.items():
            self.verdict.receipts[original] = normal in self.found
        self.verdict.entries, self.verdict.head = len(self.ballots), self.previous
        return self.verdict

    def _line(self, line: bytes) -> None:  # noqa: PLR0912 - one branch per record type
        self.number += 1
        number = self.number
        if not line.endswith(b"\n"):
            raise BoardError(f"line {number}: the file is truncated (no newline at the end)")
        record = _object(line, number)
        kind, stage = record["type"], self.stage
        if stage == "round":
            if kind != "round":
                raise BoardError("line 1: the board must start with the round's definition")
            _check_definition(record)
            self.definition, self.stage = record, "entries"
        elif kind == "entry" and stage == "entries":
            seq = len(self.ballots) + 1
            self.previous, entry = _check_entry(
                record, number, seq, self.previous, self.definition["round"]
            )
            self.ballots.append((entry["area"], entry["selections"]))
            if entry["tracker"] in self.wanted:
                self.found.add(entry["tracker"])
            expected = self.marks.get(seq)
            if expected is not None and expected != self.previous:
                raise BoardError(
                    f"entry {seq}: differs from the checkpoint recorded for it"
                    " (the log was rewritten)"
                )
        elif kind == "head" and stage == "entries":
            _expect_keys(record, {"count", "hash"}, f"line {number} (head)")
            if record["count"] != len(self.ballots) or record["hash"] != self.previous:
                raise BoardError(
                    f"line {number} (head): the head does not match the entries"
                    f" ({len(self.ballots)} entries, last hash {self.previous})"
                )
            self.stage = "tally"
        elif kind == "tally" and stage == "tally":
            _expect_keys(record, {"budgets"}, f"line {number} (tally)")
            if record["budgets"] != recount(self.definition, self.ballots):
                raise BoardError(
                    f"line {number} (tally): the published tally differs from the recount"
                    " of the entries under the published rules"
                )
            self.stage = "signature"
        elif kind == "signature" and stage == "signature":
            _expect_keys(
                record, {"algorithm", "public_key", "signature"}, f"line {number} (signature)"
            )
            if record["algorithm"] != "ed25519":
                raise BoardError(
                    f"line {number} (signature): unknown algorithm {record['algorithm']!r}"
                )
            check = self.verify_signature
            digest = self.digest.digest()
            outcome = check(record["public_key"], record["signature"], digest) if check else None
            self.verdict.signature = {True: "valid", False: "invalid", None: "not checked"}[outcome]
            if outcome is False:
                raise BoardError(
                    f"line {number} (signature): the signature does not match the board"
                )
            self.stage = "end"
            return
        elif stage == "end":
            raise BoardError(f"line {number}: nothing may follow the signature")
        else:
            raise BoardError(f"line {number}: unexpected record {kind!r} here")
        self.digest.update(line)


def check_log(
    round_link: str,
    entries: Iterable[tuple[int, str, str]],
    checkpoints: Iterable[tuple[int, str]] = (),
) -> tuple[int, str, str | None]:
    """Check a log that is not published yet: (entries checked, head, first problem or None)."""
    previous, count = GENESIS, 0
    marks = dict(checkpoints)
    for seq, text, hashed in entries:
        count += 1
        try:
            previous, _entry = _check_entry(
                {"seq": seq, "entry": text, "hash": hashed},
                count,
                count,
                previous,
                round_link,
            )
        except BoardError as error:
            return count - 1, previous, str(error).replace(f"line {count} ", "")
        if marks.get(count, previous) != previous:
            return (
                count,
                previous,
                (
                    f"entry {count}: differs from the checkpoint recorded for it (the log was rewritten)"
                ),
            )
    for seq in marks:
        if seq > count:
            return (
                count,
                previous,
                (f"checkpoint {seq}: the log has only {count} entries (entries were removed)"),
            )
    return count, previous, None


def board_lines(
    definition: dict, entries: Iterable[tuple[int, str, str]], tally: list[dict]
) -> Iterator[bytes]:
    """The board without its signature line: (seq, entry text, hash) in order."""
    yield (canonical({"type": "round", **definition}) + "\n").encode("utf-8")
    count, head = 0, GENESIS
    for seq, text, hashed in entries:
        yield (
            canonical({"type": "entry", "seq": seq, "entry": text, "hash": hashed}) + "\n"
        ).encode("utf-8")
        count, head = seq, hashed
    yield (canonical({"type": "head", "count": count, "hash": head}) + "\n").encode("utf-8")
    yield (canonical({"type": "tally", "budgets": tally}) + "\n").encode("utf-8")


def signature_line(public_key: str, signature: str) -> bytes:
    record = {
        "type": "signature",
        "algorithm": "ed25519",
        "public_key": public_key,
        "signature": signature,
    }
    return (canonical(record) + "\n").encode("utf-8")
