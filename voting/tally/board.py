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

**Bulletin board** (JSON Lines, canonical, one object per line, each ending in a newline): the
round's definition, the roll's marks per area and channel, every entry, the head, the tally
under every rule, the staff audit log's head and the Ed25519 signature with its key id, in that
order. docs/board-format.md describes every line and every check precisely.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from voting.tally.count import (
    POINTS_RULES,
    RULE_COLUMNS,
    count_budget,
    counted_selections,
    grouped_budget_elections,
)
from voting.tally.definition import Definition, DefinitionError, area_name, is_area, is_whole
from voting.tally.rules import votes_per_project

GENESIS = "0" * 64
FORMAT = "tori-board/2"
ENTRY_KEYS = ("area", "ballot", "round", "selections", "seq", "tracker")


class Channel(StrEnum):
    """How a ballot was cast: recorded on the roll and in the board's roll summary, never in
    the log's entries."""

    ONLINE = "online"
    ASSISTED = "assisted"
    PAPER = "paper"


CHANNELS = tuple(Channel)
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
# Everything below is what `tori-verify`, `tori audit` and the staff audit page check; the format
# is written up in docs/board-format.md.

HEX = frozenset("0123456789abcdef")
ROLL_KEYS = frozenset({"area", "marks", "online", "assisted", "paper"})
SIGNATURE_KEYS = {"algorithm", "key_id", "public_key", "signature"}
# What a signature check may answer without making the board invalid.
SIGNATURE_FINE = ("valid", "signer not verified", "not checked")


class BoardError(ValueError):
    """The board is not valid: the message names the first failing line, entry or field."""


@dataclass
class Verdict:
    entries: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)
    # "valid" (by a key the caller trusts), "signer not verified" (by the key written in the
    # board), "not checked" (no Ed25519 at hand), "absent" (no signature line reached).
    signature: str = "absent"
    key_id: str | None = None
    fingerprint: str | None = None
    receipts: dict[str, bool] = field(default_factory=dict)
    # Entries per area (None: voters with no district), and the roll's marks per area.
    areas: dict = field(default_factory=dict)
    roll: dict = field(default_factory=dict)
    staff_audit: tuple[int, str] | None = None
    # Every entry's tracker in log order (only when asked for: `keep_trackers`).
    trackers: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems and all(self.receipts.values())


def is_hex(value: object, length: int) -> bool:
    return isinstance(value, str) and len(value) == length and set(value) <= HEX


def public_key_bytes(text: object) -> bytes | None:
    """An Ed25519 public key written as base64 of its 32 raw bytes, or None."""
    raw = _base64(text)
    return raw if raw is not None and len(raw) == 32 else None


def _base64(text: object) -> bytes | None:
    if not isinstance(text, str) or not text.isascii():
        return None
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        return None


def fingerprint_of(raw_public_key: bytes) -> str:
    """The key's fingerprint: SHA-256 (hex) of its 32 raw bytes."""
    return hashlib.sha256(raw_public_key).hexdigest()


def key_id_of(raw_public_key: bytes) -> str:
    """The key id: the first 16 hex characters of the fingerprint."""
    return fingerprint_of(raw_public_key)[:16]


def _object(line: bytes, number: int) -> dict:
    if len(line) > MAX_LINE:
        raise BoardError(f"line {number}: longer than {MAX_LINE} bytes")
    try:
        text = line.decode("utf-8")
        value = json.loads(text)
    except UnicodeDecodeError as error:
        raise BoardError(f"line {number}: not UTF-8 text") from error
    except json.JSONDecodeError as error:
        raise BoardError(f"line {number}: not valid JSON ({error.msg})") from error
    except (ValueError, RecursionError) as error:
        # Integers of more than 4300 digits, nesting deeper than Python's stack.
        raise BoardError(f"line {number}: not valid JSON (too large or too deep)") from error
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise BoardError(f'line {number}: not a board record (no "type")')
    if _canonical_record(value) + "\n" != text:
        raise BoardError(
            f"line {number}: not in canonical form (sorted keys, no spaces, no repeated keys)"
        )
    return value


ENTRY_LINE_KEYS = frozenset({"type", "seq", "entry", "hash"})
_string = json.encoder.encode_basestring  # a JSON string as canonical() writes it


def _canonical_record(value: dict) -> str:
    """canonical(value), written directly for the entry lines (nearly all of a board)."""
    if (
        value.keys() == ENTRY_LINE_KEYS
        and value["type"] == "entry"
        and type(value["seq"]) is int
        and isinstance(value["entry"], str)
        and isinstance(value["hash"], str)
    ):
        return (
            f'{{"entry":{_string(value["entry"])},"hash":{_string(value["hash"])},'
            f'"seq":{value["seq"]},"type":"entry"}}'
        )
    return _encode(value)


def _expect_keys(record: dict, keys: set[str] | frozenset[str], where: str) -> None:
    unknown = set(record) - set(keys) - {"type"}
    missing = set(keys) - set(record)
    if missing:
        raise BoardError(f"{where}: missing field {sorted(missing)[0]!r}")
    if unknown:
        raise BoardError(f"{where}: unknown field {sorted(unknown)[0]!r:.60}")


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


def _check_definition(record: dict) -> Definition:
    _expect_keys(record, ROUND_KEYS, "line 1 (round)")
    if record["format"] != FORMAT:
        raise BoardError(
            f"line 1 (round): unknown format {record['format']!r:.60}, expected {FORMAT}"
        )
    if record["official_rule"] not in RULE_COLUMNS:
        raise BoardError(f"line 1 (round): unknown official rule {record['official_rule']!r:.60}")
    try:
        return Definition.parse(record)
    except DefinitionError as error:
        raise BoardError(f"line 1 (round): {error}") from error


def _check_roll(record: dict, number: int) -> dict:
    """The roll line: marks per area (every voter marked on the roll), by channel."""
    where = f"line {number} (roll)"
    _expect_keys(record, {"areas"}, where)
    if not isinstance(record["areas"], list):
        raise BoardError(f"{where}: areas is not a list")
    marks: dict = {}
    for row in record["areas"]:
        if not isinstance(row, dict) or set(row) != ROLL_KEYS:
            raise BoardError(f"{where}: each area needs exactly {', '.join(sorted(ROLL_KEYS))}")
        area = row["area"]
        if not is_area(area):
            raise BoardError(f"{where}: {area!r:.40} is not an area id or null")
        if area in marks:
            raise BoardError(f"{where}: {area_name(area)} is listed twice")
        counts = [row[k] for k in ("marks", "online", "assisted", "paper")]
        if not all(is_whole(c) for c in counts):
            raise BoardError(f"{where}: {area_name(area)}: the counts are not whole numbers")
        if counts[0] != sum(counts[1:]):
            raise BoardError(f"{where}: {area_name(area)}: marks is not online + assisted + paper")
        marks[area] = counts[0]
    return marks


def _parse_entry(text: object, where: str) -> dict:
    if not isinstance(text, str):
        raise BoardError(f"{where}: the entry is not a string")
    if len(text) > MAX_LINE:
        raise BoardError(f"{where}: the entry is too long")
    try:
        entry = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise BoardError(f"{where}: the entry is not JSON") from error
    if not isinstance(entry, dict) or entry.keys() != ENTRY_KEY_SET:
        raise BoardError(f"{where}: the entry must have exactly the keys {', '.join(ENTRY_KEYS)}")
    if _canonical_entry(entry) != text:
        raise BoardError(f"{where}: the entry is not in canonical form")
    return entry


def _canonical_entry(entry: dict) -> str:
    """canonical(entry), written directly when every value has the usual type (a board holds
    up to millions of entries); anything unusual goes through the JSON encoder."""
    area, ballot, round_link, seq = entry["area"], entry["ballot"], entry["round"], entry["seq"]
    selections, tracker = entry["selections"], entry["tracker"]
    if (
        (area is None or type(area) is int)
        and type(ballot) is str
        and type(round_link) is str
        and type(seq) is int
        and type(tracker) is str
        and type(selections) is dict
        and all(type(v) is int for v in selections.values())
    ):
        chosen = ",".join(f"{_string(k)}:{v}" for k, v in sorted(selections.items()))
        return (
            f'{{"area":{"null" if area is None else area},"ballot":{_string(ballot)},'
            f'"round":{_string(round_link)},"selections":{{{chosen}}},"seq":{seq},'
            f'"tracker":{_string(tracker)}}}'
        )
    return _encode(entry)


ENTRY_KEY_SET = frozenset(ENTRY_KEYS)
ENTRY_RECORD_KEYS = frozenset({"seq", "entry", "hash"})
BALLOT_ID = re.compile("[0-9a-f]{32}")
# canonical() with one encoder made once (the same output, without building one per call).
_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def _check_entry(
    record: dict, number: int, expected_seq: int, previous: str, round_link: str
) -> tuple[str, dict]:
    """One entry line's chain: its number, canonical text, round, tracker and hash."""
    where = f"line {number} (entry {expected_seq})"
    if record.keys() - {"type"} != ENTRY_RECORD_KEYS:
        _expect_keys(record, ENTRY_RECORD_KEYS, where)
    if type(record["seq"]) is not int or record["seq"] != expected_seq:
        raise BoardError(
            f"{where}: sequence number {record['seq']!r:.40}, expected {expected_seq}"
            " (an entry is missing, repeated or out of order)"
        )
    text = record["entry"]
    entry = _parse_entry(text, where)
    if type(entry["seq"]) is not int or entry["seq"] != expected_seq:
        raise BoardError(f"{where}: the entry says sequence {entry['seq']!r:.40}")
    if entry["round"] != round_link:
        raise BoardError(f"{where}: the entry belongs to round {entry['round']!r:.40}")
    ballot = entry["ballot"]
    if not isinstance(ballot, str) or not BALLOT_ID.fullmatch(ballot):
        raise BoardError(f"{where}: the ballot id is not 32 lowercase hexadecimal characters")
    # The text is canonical with its keys sorted, so the body is the text up to its last
    # `,"seq":` (the tracker after it is hex; a quote inside a string is escaped).
    if entry["tracker"] != tracker_of(text[: text.rfind(',"seq":')] + "}"):
        raise BoardError(f"{where}: the tracker is not the SHA-256 of the ballot")
    expected_hash = chain_hash(previous, text)
    if record["hash"] != expected_hash:
        raise BoardError(f"{where}: the hash does not match the entry and the previous hash")
    return expected_hash, entry


# The usual entry line, read without JSON parsing. `_check_entry` is the definition; this is a
# shortcut for the lines that are certainly canonical and valid (a board holds up to millions):
# anything it does not recognise, or that fails a check, goes through `_check_entry`, which
# names the problem. In the line the entry is a JSON string, so its quotes appear as \". The
# line is taken apart at its fixed texts, its variable parts are checked, and the end of the line
# (both sequence numbers, the tracker and the hash) is written anew from the expected number
# and the hashes computed here and compared whole.
_INTEGER = rb"(?:0|-?[1-9][0-9]*)"
_PAIR = rb'\\"(?:0|[1-9][0-9]*)\\":' + _INTEGER
_AREA = re.compile(rb"null|" + _INTEGER)
_SELECTIONS = re.compile(rb"(?:" + _PAIR + rb"(?:," + _PAIR + rb")*)?")
_PAIRS = re.compile(rb'\\"([0-9]+)\\":(-?[0-9]+)')
_HEX_DIGITS = b"0123456789abcdef"
_ENTRY_START = b'{"entry":"'
_AREA_START = _ENTRY_START + b'{\\"area\\":'
_BALLOT_START = b',\\"ballot\\":\\"'
_SUFFIX = b'},\\"seq\\":%b,\\"tracker\\":\\"%b\\"}","hash":"%b","seq":%b,"type":"entry"}\n'
_SUFFIX_LENGTH = len(_SUFFIX % (b"", b"0" * 64, b"0" * 64, b""))
# A round id that needs no escaping in JSON, so that the entry's text is the line's string with
# each \" made a quote.
_PLAIN_ROUND = re.compile("[A-Za-z0-9_.-]{1,200}")


def _fast_entry_shape(round_link: str) -> bytes | None:
    """What follows the ballot id in every entry line of the round, up to the selections; None
    for a round id that would need escaping (its entries all take the full check)."""
    if not _PLAIN_ROUND.fullmatch(round_link):
        return None
    return b'\\",\\"round\\":\\"' + round_link.encode() + b'\\",\\"selections\\":{'


def _fast_entry(  # noqa: PLR0911 - one refusal per check, each plain
    after_ballot: bytes,
    line: bytes,
    expected_seq: int,
    previous: str,
    seen: dict | None = None,
) -> tuple[str, str, list] | None:
    """(hash, tracker, ballot) of an entry line that is canonical and whose number, tracker and
    hash are right, as `_check_entry` would give them; None for any other line. The ballot is
    [area, selections, voters counted]; with `seen`, the ballots read so far by their area's
    and selections' text, an entry with the same text gets the same ballot, read and checked
    once (identical ballots are common, and the count groups them anyway)."""
    if len(line) > MAX_LINE or not line.startswith(_AREA_START):
        return None
    area_end = line.find(_BALLOT_START, len(_AREA_START))
    if area_end < 0:
        return None
    ballot_at = area_end + len(_BALLOT_START)
    pairs_at = ballot_at + 32 + len(after_ballot)
    number = b"%d" % expected_seq
    pairs_end = len(line) - _SUFFIX_LENGTH - 2 * len(number)
    if (
        pairs_end < pairs_at
        or line[ballot_at : ballot_at + 32].translate(None, _HEX_DIGITS)
        or not line.startswith(after_ballot, ballot_at + 32)
    ):
        return None
    # Every backslash up to the end of the selections is one of a \" (the parts between the
    # fixed texts are hexadecimal or checked below: numbers, null and \"-quoted numbers).
    body = line[len(_ENTRY_START) : pairs_end + 1].replace(b"\\", b"")
    tracker = _hexlify(_sha256(body + b"}").digest())
    text = b'%b,"seq":%b,"tracker":"%b"}' % (body, number, tracker)
    hashed = _hexlify(_sha256(previous.encode() + text).digest())
    if line[pairs_end:] != _SUFFIX % (number, tracker, hashed, number):
        return None
    area, pairs = line[len(_AREA_START) : area_end], line[pairs_at:pairs_end]
    key = (area, pairs)
    ballot = None if seen is None else seen.get(key)
    if ballot is None:
        if not _AREA.fullmatch(area) or not _SELECTIONS.fullmatch(pairs):
            return None
        selections = {project.decode(): int(value) for project, value in _PAIRS.findall(pairs)}
        keys = list(selections)
        # canonical: keys in order and none repeated (a repeated key leaves fewer keys)
        if keys != sorted(keys) or len(keys) != pairs.count(b":"):
            return None
        ballot = [None if area == b"null" else int(area), selections, 0]
        if seen is not None:
            seen[key] = ballot
    return hashed.decode(), tracker.decode(), ballot


_sha256 = hashlib.sha256
_hexlify = binascii.hexlify


def recount(definition: dict, ballots: list[tuple[int | None, dict]]) -> list[dict]:
    """The tally of the board's own ballots (area, selections) under every rule: per budget,
    the voters who chose something there, each project's votes (points on points ballots), the
    projects each rule selects ("rules") and those of the official rule ("selected")."""
    return recount_grouped(definition, [(area, selections, 1) for area, selections in ballots])


def recount_grouped(
    definition: dict, ballots: Iterable[tuple[int | None, dict, int]]
) -> list[dict]:
    """`recount` of ballots given once per distinct ballot: (area, selections, how many voters
    cast it), in the order each was first cast."""
    rule = definition["ballot_rule"]
    points = rule in POINTS_RULES
    official = definition["official_rule"]
    result = []
    counted = counted_selections(rule, definition["max_choices"], ballots)
    for budget, _own, election, groups in grouped_budget_elections(
        definition["budgets"], definition["projects"], counted, points
    ):
        area = budget["area"]
        votes = votes_per_project(election, groups)
        rules = {
            rule: sorted(outcome.selected, key=int)
            for rule, outcome in count_budget(election, points, groups).items()
        }
        result.append(
            {
                "area": area,
                "amount": budget["amount"],
                "voters": len(election.ballots),
                "votes": {p: int(votes[p]) for p in sorted(election.costs, key=int)},
                "selected": rules[official],
                "rules": rules,
            }
        )
    return result


def _tally_difference(published: object, expected: list[dict]) -> str:
    """Which budget and field of a published tally differ from the recount."""
    if not isinstance(published, list) or len(published) != len(expected):
        return "the list of budgets"
    for number, (given, budget) in enumerate(zip(published, expected, strict=True), start=1):
        where = f"budget {number} ({area_name(budget['area'])})"
        if not isinstance(given, dict):
            return where
        for key in sorted(set(given) | set(budget)):
            if key not in budget:
                return f"{where}, unknown field {key!r:.40}"
            if key not in given or canonical(given[key]) != canonical(budget[key]):
                return f"{where}, field {key!r}"
    return "the tally"


def signed_digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def check_board(
    lines: Iterable[bytes],
    receipts: Iterable[str] = (),
    checkpoints: Iterable[tuple[int, str]] = (),
    verify_signature=None,
) -> Verdict:
    """Check a bulletin board read line by line (bytes, newline included). `verify_signature`
    is called with (key id, public key, signature, digest) and answers "valid", "signer not
    verified", "not checked" or the problem it found. Raises nothing: the verdict names the
    first problem found."""
    checker = BoardChecker(receipts, checkpoints, verify_signature)
    checker.feed_all(lines)
    return checker.finish()


class BoardChecker:
    """The checks of `check_board`, fed one line at a time, so that a board is checked as it is
    read from a file or from the database. With `log_only` it checks a log that is still open:
    round, roll, entries and head, the last line; the caller compares the roll with the entries
    and the ballots still waiting to join the log."""

    def __init__(
        self,
        receipts: Iterable[str] = (),
        checkpoints: Iterable[tuple[int, str]] = (),
        verify_signature=None,
        *,
        log_only: bool = False,
        keep_trackers: bool = False,
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
        self.log_only, self.keep_trackers = log_only, keep_trackers
        self.digest = hashlib.sha256()
        self.definition: Definition | None = None
        # The ballots, [area, selections, voters counted], in the order first read: one for
        # each distinct text of area and selections on the shortcut, one per line otherwise.
        self.seen: dict[tuple, list] = {}
        self.entries = 0
        self.previous = GENESIS
        self.stage, self.last_kind = "round", ""
        self.fast: bytes | None = None  # the shortcut for entry lines: `_fast_entry_shape`
        self.number = 0

    def feed(self, line: bytes) -> bool:
        """Check one more line; False once a problem was found (stop feeding)."""
        try:
            self._line(line)
        except Exception as error:
            # A board must never crash the verifier: `_failed` names the line.
            self._failed(error)
            return False
        return True

    def feed_all(self, lines: Iterable[bytes]) -> None:
        """`feed` every line until a problem is found; the entry lines that the shortcut reads
        (nearly all of a board) in a loop of their own, as `_line` would check them."""
        lines = iter(lines)
        for line in lines:
            if not self.feed(line):
                return
            while self.stage == "entries" and self.fast is not None:
                try:
                    unread = self._shortcut_entries(lines)
                except Exception as error:  # as in `feed`
                    self._failed(error)
                    return
                if unread is None or not self.feed(unread):
                    return

    def _shortcut_entries(self, lines: Iterator[bytes]) -> bytes | None:
        """Check entry lines with the shortcut while it reads them; the first line it does not
        read is returned unchecked (None at the end)."""
        shape, seen, checked, update = self.fast, self.seen, self._entry_checked, self.digest.update
        for line in lines:
            read = _fast_entry(shape, line, self.entries + 1, self.previous, seen)
            if read is None:
                return line
            self.number += 1
            checked(*read, self.number)
            update(line)
        return None

    def _failed(self, error: Exception) -> None:
        if isinstance(error, BoardError):
            self.verdict.problems.append(str(error))
        else:  # name the line
            self.verdict.problems.append(
                f"line {self.number}: cannot be checked ({type(error).__name__})"
            )
        self.stage = "failed"

    def finish(self) -> Verdict:
        if self.stage != "failed":
            missing = {
                "round": "the round's definition",
                "roll": "the roll",
                "entries": "the head",
                "tally": "the tally",
                "staff_audit": "the staff audit head",
                "signature": "the signature",
            }
            if self.stage in missing:
                self.verdict.problems.append(
                    f"after line {self.number}: the board ends without {missing[self.stage]}"
                    " (truncated)"
                )
            for seq in self.marks:
                if seq > self.entries:
                    self.verdict.problems.append(
                        f"checkpoint {seq}: the board has only {self.entries} entries"
                        " (entries were removed)"
                    )
        for normal, original in self.wanted.items():
            self.verdict.receipts[original] = normal in self.found
        self.verdict.entries, self.verdict.head = self.entries, self.previous
        return self.verdict

    def _line(self, line: bytes) -> None:
        self.number += 1
        number = self.number
        if not line.endswith(b"\n"):
            raise BoardError(f"line {number}: the file is truncated (no newline at the end)")
        if self.stage == "entries" and self.fast is not None:
            fast = _fast_entry(self.fast, line, self.entries + 1, self.previous, self.seen)
            if fast is not None:
                self._entry_checked(*fast, number)
                self.digest.update(line)
                return
        record = _object(line, number)
        kind, stage = record["type"], self.stage
        if stage == "end":
            raise BoardError(f"line {number}: nothing may follow the {self.last_kind} line")
        if kind == "entry" and stage == "entries":
            self._entry(record, number)
        elif kind == "head" and stage == "entries":
            self._head(record, number)
        elif kind == stage and kind in ("round", "roll", "tally", "staff_audit", "signature"):
            getattr(self, f"_{kind}")(record, number)
        elif stage == "round":
            raise BoardError(f"line {number}: the board must start with the round's definition")
        else:
            expected = {"entries": "an entry or the head"}.get(stage, f"the {stage} line")
            raise BoardError(
                f"line {number}: unexpected record {kind!r:.40} here, expected {expected}"
            )
        if kind != "signature":
            self.digest.update(line)

    def _round(self, record: dict, _number: int) -> None:
        self.definition, self.stage = _check_definition(record), "roll"
        self.fast = _fast_entry_shape(record["round"])

    def _roll(self, record: dict, number: int) -> None:
        self.verdict.roll, self.stage = _check_roll(record, number), "entries"

    def _entry(self, record: dict, number: int) -> None:
        chained, entry = _check_entry(
            record, number, self.entries + 1, self.previous, self.definition.record["round"]
        )
        # A ballot of its own (the full check is for the rare unusual line): its rules are
        # checked, and the count groups it with any identical one.
        ballot = self.seen[number,] = [entry["area"], entry["selections"], 0]
        self._entry_checked(chained, entry["tracker"], ballot, number)

    def _entry_checked(self, chained: str, tracker: str, ballot: list, number: int) -> None:
        """The checks of an entry whose line, chain and tracker are right: the round's rules,
        the roll, receipts and checkpoints. `ballot` is [area, selections, voters counted],
        one list for identical ballots: a ballot counted once has kept the round's rules."""
        seq = self.entries + 1
        self.previous = chained
        area, selections, voters = ballot
        if not voters:
            problem = self.definition.ballot_problem(area, selections)
            if problem:
                raise BoardError(f"line {number} (entry {seq}): {problem}")
        roll, areas = self.verdict.roll, self.verdict.areas
        cast = areas.get(area, 0) + 1
        if cast > roll.get(area, 0):
            where = f"line {number} (entry {seq})"
            if area not in roll and area not in self.definition.amounts:
                raise BoardError(
                    f"{where}: {area_name(area)} is neither on the roll nor in the budgets"
                )
            raise BoardError(
                f"{where}: {area_name(area)} has {roll.get(area, 0)} roll marks and this is its"
                f" entry number {cast} (a ballot without a roll mark)"
            )
        areas[area] = cast
        ballot[2] = voters + 1
        self.entries = seq
        # A receipt is the tracker; one printed before trackers existed is the entry's hash.
        if self.wanted:
            for receipt in (tracker, chained):
                if receipt in self.wanted:
                    self.found.add(receipt)
        if self.keep_trackers:
            self.verdict.trackers.append(tracker)
        if self.marks:
            expected = self.marks.get(seq)
            if expected is not None and expected != chained:
                raise BoardError(
                    f"entry {seq}: differs from the checkpoint recorded for it (the log was"
                    " rewritten)"
                )

    def _head(self, record: dict, number: int) -> None:
        where = f"line {number} (head)"
        _expect_keys(record, {"count", "hash"}, where)
        count = self.entries
        if type(record["count"]) is not int or record["count"] != count:
            raise BoardError(f"{where}: the count is not the number of entries ({count})")
        if record["hash"] != self.previous:
            raise BoardError(f"{where}: the hash is not the last entry's ({self.previous})")
        if self.log_only:
            self.stage, self.last_kind = "end", "head"
            return
        for area, marks in self.verdict.roll.items():
            entries = self.verdict.areas.get(area, 0)
            if entries != marks:
                raise BoardError(
                    f"{where}: {area_name(area)} has {marks} roll marks but {entries} entries"
                    " (a ballot is missing)"
                )
        self.stage = "tally"

    def _tally(self, record: dict, number: int) -> None:
        where = f"line {number} (tally)"
        _expect_keys(record, {"budgets"}, where)
        expected = recount_grouped(
            self.definition.record, [ballot for ballot in self.seen.values() if ballot[2]]
        )
        if canonical(record["budgets"]) != canonical(expected):
            raise BoardError(
                f"{where}: the published tally differs from the recount of the entries under"
                f" the published rules ({_tally_difference(record['budgets'], expected)})"
            )
        self.stage = "staff_audit"

    def _staff_audit(self, record: dict, number: int) -> None:
        where = f"line {number} (staff_audit)"
        _expect_keys(record, {"count", "head"}, where)
        if not is_whole(record["count"]) or not is_hex(record["head"], 64):
            raise BoardError(f"{where}: needs a whole count and a head of 64 lowercase hex")
        self.verdict.staff_audit, self.stage = (record["count"], record["head"]), "signature"

    def _signature(self, record: dict, number: int) -> None:
        where = f"line {number} (signature)"
        _expect_keys(record, SIGNATURE_KEYS, where)
        if record["algorithm"] != "ed25519":
            raise BoardError(f"{where}: unknown algorithm {record['algorithm']!r:.40}")
        raw = public_key_bytes(record["public_key"])
        if raw is None:
            raise BoardError(f"{where}: public_key is not base64 of 32 bytes")
        if record["key_id"] != key_id_of(raw):
            raise BoardError(f"{where}: key_id is not the id of the public key")
        signature = _base64(record["signature"])
        if signature is None or len(signature) != 64:
            raise BoardError(f"{where}: signature is not base64 of 64 bytes")
        self.verdict.key_id, self.verdict.fingerprint = record["key_id"], fingerprint_of(raw)
        check = self.verify_signature
        outcome = (
            check(record["key_id"], record["public_key"], record["signature"], self.digest.digest())
            if check
            else "not checked"
        )
        if outcome not in SIGNATURE_FINE:
            raise BoardError(f"{where}: {outcome}")
        self.verdict.signature = outcome
        self.stage, self.last_kind = "end", "signature"


def check_log(
    round_link: str,
    entries: Iterable[tuple[int, str, str]],
    checkpoints: Iterable[tuple[int, str]] = (),
) -> tuple[int, str, str | None]:
    """Check the chain of a log alone (no definition): (entries checked, head, first problem
    or None)."""
    previous, count = GENESIS, 0
    marks = dict(checkpoints)
    for seq, text, hashed in entries:
        count += 1
        try:
            previous, _entry = _check_entry(
                {"seq": seq, "entry": text, "hash": hashed}, count, count, previous, round_link
            )
        except BoardError as error:
            return count - 1, previous, str(error).replace(f"line {count} ", "")
        if marks.get(count, previous) != previous:
            return (
                count,
                previous,
                f"entry {count}: differs from the checkpoint recorded for it (the log was rewritten)",
            )
    for seq in marks:
        if seq > count:
            return (
                count,
                previous,
                f"checkpoint {seq}: the log has only {count} entries (entries were removed)",
            )
    return count, previous, None


def _record_line(record: dict) -> bytes:
    return (canonical(record) + "\n").encode("utf-8")


def round_line(definition: dict) -> bytes:
    return _record_line({"type": "round", **definition})


def roll_line(roll: list[dict]) -> bytes:
    return _record_line({"type": "roll", "areas": roll})


def entry_line(seq: int, text: str, hashed: str) -> bytes:
    return _record_line({"type": "entry", "seq": seq, "entry": text, "hash": hashed})


def head_line(count: int, hashed: str) -> bytes:
    return _record_line({"type": "head", "count": count, "hash": hashed})


def tally_line(tally: list[dict]) -> bytes:
    return _record_line({"type": "tally", "budgets": tally})


def staff_audit_line(count: int, head: str) -> bytes:
    return _record_line({"type": "staff_audit", "count": count, "head": head})


def board_lines(
    definition: dict,
    roll: list[dict],
    entries: Iterable[tuple[int, str, str]],
    tally: list[dict],
    staff_audit: tuple[int, str],
) -> Iterator[bytes]:
    """The board without its signature line: (seq, entry text, hash) in order."""
    yield round_line(definition)
    yield roll_line(roll)
    count, head = 0, GENESIS
    for seq, text, hashed in entries:
        yield entry_line(seq, text, hashed)
        count, head = seq, hashed
    yield head_line(count, head)
    yield tally_line(tally)
    yield staff_audit_line(*staff_audit)


def signature_line(public_key: str, signature: str) -> bytes:
    """The last line; the key id is derived from the public key (base64 of its raw bytes)."""
    raw = public_key_bytes(public_key)
    if raw is None:
        raise ValueError("the public key is not base64 of 32 bytes")
    return _record_line(
        {
            "type": "signature",
            "algorithm": "ed25519",
            "key_id": key_id_of(raw),
            "public_key": public_key,
            "signature": signature,
        }
    )
