"""The bulletin board's checks without a database: the known-answer boards, stuffed ballots in
boards re-signed with the genuine key, keys, and malformed boards made by mutating a valid one
(hypothesis). Every bad board must give NOT VALID naming the line, never a traceback."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.voting import board_vectors as vectors
from voting import board_keys
from voting.tally.board import canonical, check_board
from voting.verify import signature_checker

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
GENUINE = {board_keys.key_id(vectors.SEED): board_keys.public_key_text(vectors.SEED)}


def lines_of(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def check(data: bytes, trusted: dict | None = None):
    return check_board(lines_of(data), verify_signature=signature_checker(trusted or GENUINE))


def verify(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "voting.verify", *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=ROOT,
    )


def first_problem(data: bytes, trusted: dict | None = None) -> str:
    verdict = check(data, trusted)
    assert not verdict.valid, "the board should not be valid"
    return verdict.problems[0]


# --- known-answer boards -------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(vectors.VECTORS))
def test_the_known_answer_board_is_made_byte_for_byte_by_the_code(name):
    """A change of the format (or of the count) shows up here first: regenerate the files with
    `python -m tests.voting.board_vectors` only when it is meant, and say so."""
    assert vectors.vector(name) == (DATA / name).read_bytes()


@pytest.mark.parametrize("name", list(vectors.VECTORS))
def test_tori_verify_finds_the_known_answer_board_valid_with_its_key(name):
    result = verify(str(DATA / name), "--public-key", str(DATA / "board-v2-key.txt"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("VALID: ")
    assert f"key {board_keys.key_id(vectors.SEED)}" in result.stdout


def test_every_single_byte_edit_of_the_known_answer_board_is_caught():
    data = (DATA / "board-v2-signed.jsonl").read_bytes()
    assert check(data).valid
    for position in range(len(data)):
        # Every byte with its lowest bit flipped; every ninth also made non-ASCII.
        for flip in (0x01, 0x80) if position % 9 == 0 else (0x01,):
            edited = bytearray(data)
            edited[position] ^= flip
            verdict = check(bytes(edited))
            assert not verdict.valid, (position, flip)
            assert "cannot be checked" not in verdict.problems[0]
    unsigned = check_board(lines_of(data)[:-1])
    assert "ends without the signature" in unsigned.problems[0]


def test_a_single_byte_edit_fails_tori_verify_too(tmp_path):
    data = bytearray((DATA / "board-v2-signed.jsonl").read_bytes())
    data[data.index(b'\\"1\\":1,\\"5\\":1') + 5] = ord("2")  # one approval becomes a 2
    board = tmp_path / "edited.jsonl"
    board.write_bytes(bytes(data))
    result = verify(str(board), "--public-key", str(DATA / "board-v2-key.txt"))
    assert result.returncode == 1
    assert "entry 1" in result.stdout.splitlines()[1]


# --- stuffed ballots, re-signed with the genuine key ---------------------------------------------

STUFFED = {
    # (ballot rule, the stuffed ballot (area, selections), words of the expected problem)
    "another district's project": ("approval", (1, {"3": 1}), "belongs to area 2"),
    "a project of no district for a voter without one": (
        "approval",
        (None, {"1": 1}),
        "belongs to area 1",
    ),
    "over the budget": ("approval", (1, {"1": 1, "2": 1, "5": 1, "6": 1}), "the budget is"),
    "an unknown project": ("approval", (1, {"99": 1}), "not on the ballot"),
    "an approval worth two": ("approval", (2, {"4": 2}), "where a choice is 1"),
    "too many choices": ("k_approval", (1, {"1": 1, "2": 1, "5": 1}), "at most 1"),
    "negative points": ("points", (1, {"1": -1000}), "allowed 1 to 6"),
    "zero points": ("points", (1, {"1": 0}), "allowed 1 to 6"),
    "too many points for one": ("points", (1, {"1": 7}), "allowed 1 to 6"),
    "too many points in a part": ("points", (1, {"1": 6, "2": 6}), "at most 10"),
    "fractional points": ("points", (1, {"1": 1.5}), "not a whole number"),
    "points that are true": ("points", (1, {"1": True}), "not a whole number"),
    "points as text": ("points", (1, {"1": "3"}), "not a whole number"),
    "selections as text": ("approval", (1, "abc"), "not an object"),
    "selections null": ("approval", (1, None), "not an object"),
    "selections a list": ("approval", (1, [1]), "not an object"),
    "an area that is text": ("approval", ("1", {}), "not an area id"),
    "an area nobody has": ("approval", (7, {}), "neither on the roll nor in the budgets"),
}


@pytest.mark.parametrize("how", list(STUFFED))
def test_a_stuffed_ballot_in_a_board_resigned_with_the_genuine_key_is_named(how):
    rule, stuffed, words = STUFFED[how]
    ballots = [(1, {"2": 1}), (2, {"4": 1}), stuffed, (1, {})]
    # A careful forger: the chain and the head are right, the roll has a mark for it (when
    # its area is one), the board is signed by the instance's own key.
    marked = how not in ("an area that is text", "an area nobody has")
    roll = vectors.roll_of(ballots if marked else ballots[:2] + ballots[3:])
    data = vectors.build(vectors.definition(rule), ballots, roll=roll, tally=[])
    problem = first_problem(data)
    assert problem.startswith("line 5 (entry 3): "), problem
    assert words in problem, problem


def test_a_ballot_without_a_roll_mark_is_named():
    ballots = [(1, {"2": 1}), (2, {"4": 1}), (1, {"1": 1})]
    roll = vectors.roll_of(ballots[:2])  # the third ballot has no mark behind it
    data = vectors.build(vectors.definition(), ballots, roll=roll)
    problem = first_problem(data)
    assert problem.startswith("line 5 (entry 3): area 1 has 1 roll marks"), problem
    assert "without a roll mark" in problem


def test_a_missing_ballot_is_found_at_the_head():
    ballots = [(1, {"2": 1}), (2, {"4": 1})]
    roll = vectors.roll_of([*ballots, (2, {})])
    problem = first_problem(vectors.build(vectors.definition(), ballots, roll=roll))
    assert problem == "line 5 (head): area 2 has 2 roll marks but 1 entries (a ballot is missing)"


def test_a_tally_that_is_not_the_recount_names_the_budget_and_field():
    ballots = vectors.APPROVAL_BALLOTS
    tally = json.loads(lines_of(vectors.vector("board-v2-signed.jsonl"))[-3])["budgets"]
    tally[1]["rules"]["greedy"] = ["4"]
    problem = first_problem(vectors.build(vectors.definition(), ballots, tally=tally))
    assert "line 11 (tally)" in problem
    assert "budget 2 (area 2), field 'rules'" in problem
    tally[1]["rules"]["greedy"], tally[0]["voters"] = ["3"], True  # true is not 1
    problem = first_problem(vectors.build(vectors.definition(), ballots, tally=tally))
    assert "budget 1 (area 1), field 'voters'" in problem


def test_stuffed_ballots_fail_tori_verify_with_the_genuine_key(tmp_path):
    ballots = [(1, {"2": 1}), (1, {"3": 1})]
    board = tmp_path / "stuffed.jsonl"
    board.write_bytes(vectors.build(vectors.definition(), ballots, tally=[]))
    result = verify(str(board), "--public-key", str(DATA / "board-v2-key.txt"))
    assert result.returncode == 1, result.stdout
    assert "line 4 (entry 2): project 3 belongs to area 2" in result.stdout
    points = tmp_path / "points.jsonl"
    points.write_bytes(vectors.build(vectors.definition("points"), [(1, {"1": -1000})], tally=[]))
    result = verify(str(points), "--public-key", str(DATA / "board-v2-key.txt"))
    assert result.returncode == 1
    assert "line 3 (entry 1): project 1: -1000 points" in result.stdout


# --- keys ------------------------------------------------------------------------------------------

FORGER = hashlib.sha256(b"someone else's key").digest()


def test_a_board_resigned_with_another_key_is_not_valid_with_the_genuine_key(tmp_path):
    forged = tmp_path / "forged.jsonl"
    forged.write_bytes(vectors.build(vectors.definition(), [(1, {"1": 1, "2": 1})], seed=FORGER))
    genuine = verify(str(forged), "--public-key", board_keys.public_key_text(vectors.SEED))
    assert genuine.returncode == 1
    assert (
        f"signed by key {board_keys.key_id(FORGER)}, which is not among the keys" in genuine.stdout
    )
    # Without a key it cannot tell: it says so, with the forger's fingerprint to compare.
    alone = verify(str(forged))
    assert alone.returncode == 3, alone.stdout
    assert alone.stdout.startswith("chain and count valid, signer not verified")
    assert board_keys.fingerprint(board_keys.public_key_text(FORGER)) in alone.stdout
    assert "VALID:" not in alone.stdout


def test_the_public_key_written_in_the_board_cannot_be_swapped_for_the_genuine_one(tmp_path):
    data = vectors.build(vectors.definition(), [(1, {"1": 1})], seed=FORGER)
    record = json.loads(lines_of(data)[-1])
    record["public_key"] = board_keys.public_key_text(vectors.SEED)
    record["key_id"] = board_keys.key_id(vectors.SEED)
    swapped = b"".join(lines_of(data)[:-1]) + (canonical(record) + "\n").encode()
    assert "the signature does not match the board" in first_problem(swapped)
    record["key_id"] = board_keys.key_id(FORGER)
    mismatched = b"".join(lines_of(data)[:-1]) + (canonical(record) + "\n").encode()
    assert "key_id is not the id of the public key" in first_problem(mismatched)


def test_a_key_file_of_several_keys_picks_the_board_s_key_by_its_id(tmp_path):
    others = [hashlib.sha256(bytes([n])).digest() for n in range(3)]
    board = tmp_path / "board.jsonl"
    board.write_bytes((DATA / "board-v2-signed.jsonl").read_bytes())
    lines = tmp_path / "keys.txt"
    lines.write_text(
        "# old keys first\n"
        + "".join(f"{board_keys.key_id(s)} {board_keys.public_key_text(s)}\n" for s in others)
        + f"\n{board_keys.public_key_text(vectors.SEED)}\n"
    )
    as_json = tmp_path / "signing-key.json"
    as_json.write_text(
        json.dumps(
            {
                "keys": [
                    {"key_id": board_keys.key_id(s), "public_key": board_keys.public_key_text(s)}
                    for s in [*others, vectors.SEED]
                ]
            }
        )
    )
    pem = tmp_path / "keys.pem"
    pem.write_text(
        "".join(
            board_keys.public_key_pem(board_keys.public_key_text(s))
            for s in [*others, vectors.SEED]
        )
    )
    for keys in (lines, as_json, pem):
        result = verify(str(board), "--public-key", str(keys))
        assert result.returncode == 0, (keys.name, result.stdout + result.stderr)
    only_others = tmp_path / "others.txt"
    only_others.write_text("".join(f"{board_keys.public_key_text(s)}\n" for s in others))
    refused = verify(str(board), "--public-key", str(only_others))
    assert refused.returncode == 1
    assert "not among the keys given" in refused.stdout
    # A key file that lies about a key's id, or holds no key, is refused before checking.
    as_json.write_text(
        json.dumps(
            {"keys": [{"key_id": "0" * 16, "public_key": board_keys.public_key_text(FORGER)}]}
        )
    )
    for bad in (str(as_json), str(tmp_path / "missing.txt"), "not-a-key"):
        result = verify(str(board), "--public-key", bad)
        assert result.returncode == 2, bad
        assert "Traceback" not in result.stderr


def test_the_help_documents_every_exit_code():
    result = verify("--help")
    assert result.returncode == 0
    for code in ("0  VALID", "1  NOT VALID", "2  the board", "3  chain and count valid"):
        assert code in result.stdout


# --- malformed boards: mutations of a valid one --------------------------------------------------

VALID = (DATA / "board-v2-signed.jsonl").read_bytes()
VALID_LINES = lines_of(VALID)

junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([10**30, -1, 0, 2**53, 1.5, float("nan")])
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=6,
)


def _replace_field(record: dict, draw_path: list, value: object) -> dict:
    """Set a field found by walking `draw_path` (indexes into keys/items) to `value`."""
    target = record
    for step in draw_path:
        children = list(target) if isinstance(target, dict) else range(len(target))
        if not children:
            break
        key = list(children)[step % len(children)]
        child = target[key]
        if not isinstance(child, dict | list) or not child:
            target[key] = value
            return record
        target = child
    if isinstance(target, dict):
        target[f"k{len(target)}"] = value
    else:
        target.append(value)
    return record


@st.composite
def mutated_boards(draw) -> bytes:
    lines = list(VALID_LINES)
    number = draw(st.integers(0, len(lines) - 1))
    how = draw(
        st.sampled_from(
            ["field", "entry field", "drop key", "bytes", "truncate", "delete", "duplicate"]
        )
    )
    if how == "truncate":
        cut = draw(st.integers(0, len(VALID) - 1))
        return VALID[:cut]
    if how == "delete":
        del lines[number]
    elif how == "duplicate":
        lines.insert(number, lines[number])
    elif how == "bytes":
        line = bytearray(lines[number])
        at = draw(st.integers(0, len(line) - 1))
        line[at : at + 1] = draw(st.binary(min_size=0, max_size=3))
        lines[number] = bytes(line)
    else:
        record = json.loads(lines[number])
        if how == "entry field" and record["type"] == "entry":
            entry = json.loads(record["entry"])
            path = draw(st.lists(st.integers(0, 20), min_size=1, max_size=4))
            record["entry"] = canonical(_replace_field(entry, path, draw(junk)))
        elif how == "drop key":
            record.pop(sorted(record)[draw(st.integers(0, len(record) - 1))])
        else:
            path = draw(st.lists(st.integers(0, 20), min_size=1, max_size=4))
            record = _replace_field(record, path, draw(junk))
        try:
            lines[number] = (canonical(record) + "\n").encode()
        except ValueError:  # an integer too long to write
            lines[number] = b"{}\n"
    return b"".join(lines)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutated_boards())
def test_any_mutation_of_a_valid_board_gives_a_clean_not_valid(data):
    verdict = check(data)
    if data == VALID:
        assert verdict.valid
        return
    assert not verdict.valid
    problem = verdict.problems[0]
    assert problem.startswith(("line ", "after line ")), problem
    assert "cannot be checked" not in problem, problem


def test_mutated_boards_give_tori_verify_exit_1_with_a_message_and_no_traceback(tmp_path):
    rng = random.Random(13)
    boards = [
        VALID.replace(b'\\"selections\\":{\\"1\\":1,\\"5\\":1}', b'\\"selections\\":\\"abc\\"'),
        VALID.replace(b'"budgets":[{"amount":100000', b'"budgets":{"x":[{"amount":100000', 1),
        VALID.replace(b'{"area":1,"cost":60000,', b'{"cost":60000,', 1),
        VALID.replace(b'"amount":100000', b'"amount":1' + b"0" * 5000, 1),
        VALID[: len(VALID) // 2],
        b"[" * 100_000 + b"\n",
        VALID.replace(b"Etel\xc3\xa4inen", b"Etel\xe4inen"),
    ]
    for _ in range(3):
        data = bytearray(VALID)
        at = rng.randrange(len(data))
        # Another byte than the one there (the same byte would leave the board as it was).
        data[at : at + 1] = bytes([(data[at] + rng.randrange(1, 256)) % 256])
        boards.append(bytes(data))
    for number, data in enumerate(boards):
        board = tmp_path / f"mutated-{number}.jsonl"
        board.write_bytes(data)
        result = verify(str(board), "--public-key", str(DATA / "board-v2-key.txt"))
        assert result.returncode == 1, (number, result.stdout, result.stderr)
        assert result.stdout.startswith("NOT VALID\n  line "), (number, result.stdout)
        assert "Traceback" not in result.stdout + result.stderr
        assert "cannot be checked" not in result.stdout


def test_the_key_id_is_the_start_of_the_sha256_fingerprint_of_the_raw_key():
    raw = base64.b64decode(board_keys.public_key_text(vectors.SEED))
    fingerprint = hashlib.sha256(raw).hexdigest()
    assert board_keys.fingerprint(board_keys.public_key_text(vectors.SEED)) == fingerprint
    assert board_keys.key_id(vectors.SEED) == fingerprint[:16]
    assert json.loads(VALID_LINES[-1])["key_id"] == fingerprint[:16]


@st.composite
def forged_boards(draw) -> tuple[bytes, str]:
    """A board a forger made with the genuine key: chain, head, roll and signature right, and
    junk in one ballot or one field of the definition. Returns the board and what to expect
    in the first problem."""
    rule = draw(st.sampled_from(["approval", "points"]))
    base = vectors.APPROVAL_BALLOTS if rule == "approval" else vectors.POINTS_BALLOTS
    ballots = [list(b) for b in base]
    definition = vectors.definition(rule)
    if draw(st.booleans()):
        number = draw(st.integers(0, len(ballots) - 1))
        part = draw(st.sampled_from([0, 1, 2]))
        value = draw(junk)
        if part == 2 and isinstance(ballots[number][1], dict) and ballots[number][1]:
            key = sorted(ballots[number][1])[draw(st.integers(0, len(ballots[number][1]) - 1))]
            ballots[number][1] = {**ballots[number][1], key: value}
        else:
            ballots[number][min(part, 1)] = value
        expected = f"(entry {number + 1})"
    else:
        path = draw(st.lists(st.integers(0, 30), min_size=1, max_size=4))
        definition = _replace_field(definition, path, draw(junk))
        expected = "line 1 (round)"
    roll = vectors.roll_of(base)
    try:
        return vectors.build(definition, [tuple(b) for b in ballots], roll=roll, tally=[]), expected
    except ValueError:  # an integer too long to write: the forger cannot write it either
        return b"", "ends without"


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(forged_boards())
def test_junk_in_a_ballot_or_the_definition_of_a_resigned_board_is_named(forged):
    data, expected = forged
    verdict = check(data)
    assert not verdict.valid  # at the least, the tally [] is not the recount
    problem = verdict.problems[0]
    assert "cannot be checked" not in problem, problem
    # The junk may make a valid ballot (then the roll or the tally fails later), never a crash.
    assert (
        expected in problem or "(tally)" in problem or "(head)" in problem or ("roll" in problem)
    ), problem


# The verifier reads the usual entry line with a shortcut (no JSON parsing); the full check is
# the definition. The shortcut must accept exactly what the full check accepts, with the same
# result, and leave everything else to it.


def _entry_lines() -> tuple[str, list[tuple[int, bytes]]]:
    round_link = json.loads(VALID_LINES[0])["round"]
    entries = [line for line in VALID_LINES if json.loads(line)["type"] == "entry"]
    return round_link, list(enumerate(entries, start=1))


def _full_check(line: bytes, seq: int, previous: str, round_link: str):
    from voting.tally.board import BoardError, _check_entry, _object

    try:
        chained, entry = _check_entry(_object(line, 3), 3, seq, previous, round_link)
    except BoardError:
        return None
    return chained, {k: entry[k] for k in ("area", "selections", "tracker")}


def _fast(shape: bytes, line: bytes, seq: int, previous: str, seen: dict | None = None):
    """The shortcut's answer in the full check's shape: (hash, area, selections, tracker)."""
    from voting.tally.board import _fast_entry

    fast = _fast_entry(shape, line, seq, previous, seen)
    if fast is None:
        return None
    hashed, tracker, (area, selections, _voters) = fast
    return hashed, {"area": area, "selections": selections, "tracker": tracker}


def test_the_entry_shortcut_reads_every_genuine_entry_as_the_full_check_does():
    from voting.tally.board import GENESIS, _fast_entry_shape

    round_link, entries = _entry_lines()
    shape = _fast_entry_shape(round_link)
    assert shape is not None
    previous = GENESIS
    for seq, line in entries:
        fast = _fast(shape, line, seq, previous)
        assert fast is not None, line
        assert fast == _full_check(line, seq, previous, round_link)
        previous = fast[0]


def _mutated(line: bytes, how: str, at: int, data: bytes) -> bytes:
    position = at % len(line)
    if how == "replace":
        return line[:position] + data + line[position + len(data) :]
    if how == "insert":
        return line[:position] + data + line[position:]
    if how == "hex digit":  # another hex digit or digit: still matches the shape
        spots = [i for i, c in enumerate(line) if c in b"0123456789abcdef"]
        i = spots[at % len(spots)]
        new = b"0123456789abcdef"[(line[i] - 47 + at) % 16]
        return line[:i] + bytes([new]) + line[i + 1 :]
    pairs = re.search(rb'selections\\":\{(.*?)\}', line)
    items = pairs.group(1).split(b",") if pairs and pairs.group(1) else []
    if how == "reorder" and len(items) > 1:
        items = items[1:] + items[:1]
    elif how == "repeat" and items:
        items = [*items, items[at % len(items)]]
    elif how == "drop" and items:
        del items[at % len(items)]
    else:
        return line
    return line[: pairs.start(1)] + b",".join(items) + line[pairs.end(1) :]


def _forged(line: bytes, how: str, at: int, seq: int, previous: str) -> bytes:
    """A forger's line: the entry changed, then its tracker and hash computed afresh."""
    from voting.tally.board import chain_hash, tracker_of

    text = json.loads(line)["entry"]
    body = text[: text.rfind(',"seq":')] + "}"
    tracker = tracker_of(body)
    start = body.index('"selections":{') + len('"selections":{')
    items = body[start : body.index("}", start)].split(",")
    if how == "forge reorder" and len(items) > 1:
        items = items[1:] + items[:1]
    elif how == "forge repeat" and items[0]:
        items = [*items, items[at % len(items)]]
    elif how == "forge tracker":
        tracker = f"{(int(tracker[0], 16) + 1) % 16:x}" + tracker[1:]
    body = body[:start] + ",".join(items) + body[body.index("}", start) :]
    if how != "forge tracker":
        tracker = tracker_of(body)
    text = f'{body[:-1]},"seq":{seq},"tracker":"{tracker}"}}'
    hashed = chain_hash(previous, text)
    record = {"entry": text, "hash": hashed, "seq": seq, "type": "entry"}
    return (canonical(record) + "\n").encode()


@settings(max_examples=600, deadline=None, derandomize=True)
@given(
    st.integers(0, 10_000),
    st.integers(0, 2_000),
    st.binary(max_size=4),
    st.sampled_from(
        [
            *("replace", "insert", "hex digit", "reorder", "repeat", "drop", "renumber"),
            *("forge reorder", "forge repeat", "forge tracker"),
        ]
    ),
)
def test_the_entry_shortcut_never_accepts_what_the_full_check_refuses(pick, at, data, how):
    from voting.tally.board import GENESIS, _fast_entry_shape

    round_link, entries = _entry_lines()
    shape = _fast_entry_shape(round_link)
    seq, line = entries[pick % len(entries)]
    # The previous hash is the one the genuine board carries before this entry.
    previous = GENESIS if seq == 1 else json.loads(entries[seq - 2][1])["hash"]
    if how == "renumber":
        seq += 1
    elif how.startswith("forge"):
        line = _forged(line, how, at, seq, previous)
    else:
        line = _mutated(line, how, at, data)
    full = _full_check(line, seq, previous, round_link)
    fast = _fast(shape, line, seq, previous)
    if fast is not None:
        assert fast == full
    # The same with every genuine ballot already read: a line with the area and selections of
    # one of them takes the ballot read before, and must still be refused when anything else
    # in it is wrong.
    fast = _fast(shape, line, seq, previous, _genuine_seen(shape))
    if fast is not None:
        assert fast == full


def _genuine_seen(shape: bytes) -> dict:
    from voting.tally.board import GENESIS, _fast_entry

    seen: dict = {}
    previous = GENESIS
    for seq, line in _entry_lines()[1]:
        previous = _fast_entry(shape, line, seq, previous, seen)[0]
    return seen


def test_identical_ballots_are_read_once_and_each_is_checked_against_the_roll():
    ballots = [(1, {"2": 1}), (2, {"4": 1}), (1, {"2": 1}), (1, {"2": 1})]
    data = vectors.build(vectors.definition(), ballots)
    assert check(data).valid
    roll = vectors.roll_of(ballots[:3])  # the last copy has no mark behind it
    problem = first_problem(vectors.build(vectors.definition(), ballots, roll=roll))
    assert problem.startswith("line 6 (entry 4): area 1 has 2 roll marks"), problem


def test_a_copy_of_a_genuine_ballot_with_a_forged_hash_is_refused():
    ballots = [(1, {"2": 1}), (2, {"4": 1}), (1, {"2": 1})]
    data = lines_of(vectors.build(vectors.definition(), ballots))
    record = json.loads(data[4])
    record["hash"] = hashlib.sha256(b"forged").hexdigest()
    data[4] = (canonical(record) + "\n").encode()
    problem = first_problem(b"".join(data))
    assert problem.startswith("line 5 (entry 3): the hash does not match"), problem


def test_a_ballot_breaking_the_rules_is_refused_after_copies_of_a_valid_one():
    # The same district and one more choice, over the city-wide budget.
    ballots = [(1, {"2": 1, "5": 1}), (1, {"2": 1, "5": 1}), (1, {"2": 1, "5": 1, "6": 1})]
    problem = first_problem(vectors.build(vectors.definition(), ballots, tally=[]))
    assert problem.startswith("line 5 (entry 3): "), problem
    assert "the choices cost 350000, the budget is 300000" in problem, problem


def _reference_recount(definition: dict, ballots: list[tuple]) -> list[dict]:
    """The count ballot by ballot, as before ballots were grouped (and as the results pages
    count): `budget_elections`, `ballot_groups` and `count_budget`."""
    from voting.tally.count import ballot_groups, budget_elections, count_budget
    from voting.tally.rules import votes_per_project

    points = definition["ballot_rule"] == "points"
    result = []
    for budget, _own, election in budget_elections(
        definition["budgets"], definition["projects"], ballots, points
    ):
        groups = ballot_groups(election, points)
        votes = votes_per_project(election, groups)
        rules = {
            rule: sorted(outcome.selected, key=int)
            for rule, outcome in count_budget(election, points, groups).items()
        }
        result.append(
            {
                "area": budget["area"],
                "amount": budget["amount"],
                "voters": len(election.ballots),
                "votes": {p: int(votes[p]) for p in sorted(election.costs, key=int)},
                "selected": rules[definition["official_rule"]],
                "rules": rules,
            }
        )
    return result


@settings(max_examples=80, deadline=None, derandomize=True)
@given(st.sampled_from(["approval", "k_approval", "points"]), st.integers(0, 2**32))
def test_the_count_of_distinct_ballots_is_the_count_of_every_ballot(rule, seed):
    from voting.tally.board import recount_grouped
    from voting.tally.count import ballot_groups, budget_elections, grouped_budget_elections

    rng = random.Random(seed)
    definition = vectors.definition(rule)
    own = {1: ["1", "2"], 2: ["3", "4"], None: []}
    ballots = []
    for _ in range(rng.randrange(0, 40)):
        area = rng.choice([1, 2, None])
        chosen = rng.sample(own[area] + ["5", "6"], k=rng.randrange(0, len(own[area]) + 3))
        ballots.append((area, {p: rng.randint(1, 6) if rule == "points" else 1 for p in chosen}))
    # Repeats, as real rounds have them: some ballots cast again, in any order.
    ballots += rng.choices(ballots, k=rng.randrange(0, 40)) if ballots else []
    rng.shuffle(ballots)
    distinct: dict = {}
    for area, selections in ballots:
        key = (area, tuple(sorted(selections.items())))
        distinct.setdefault(key, [area, selections, 0])[2] += 1
    grouped = list(distinct.values())
    assert recount_grouped(definition, grouped) == _reference_recount(definition, ballots)
    points = rule == "points"
    pairs = zip(
        budget_elections(definition["budgets"], definition["projects"], ballots, points),
        grouped_budget_elections(definition["budgets"], definition["projects"], grouped, points),
        strict=True,
    )
    for (_b, _o, one_by_one), (_b2, _o2, election, groups) in pairs:
        assert groups == ballot_groups(one_by_one, points)  # the same groups, in the same order
        assert sorted(map(canonical, election.ballots)) == sorted(
            map(canonical, one_by_one.ballots)
        )
        assert (election.budget, election.costs) == (one_by_one.budget, one_by_one.costs)
