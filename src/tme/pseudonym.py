"""Pseudonymisation: stable keyed codes for patient and sample IDs in every output.

With ``pseudonymise_ids: true`` the sample sheet's ``sample_id`` and ``patient_id`` are replaced,
as the sheet is read, by ``S-`` / ``P-`` followed by the first 12 hex digits of
HMAC-SHA256(key, "sample:<id>") (or "patient:<id>"). Everything downstream — the AnnData, tables,
figures, report, logs — only ever sees the codes. The same key gives the same codes in every run
(stable across reanalyses); without the key the codes cannot be reversed or recomputed. The key
lives in ``pseudonymisation.key_file`` (created with 32 random bytes if absent; it must not be under
``results/``), and an ID → code mapping is written only to ``pseudonymisation.mapping_file`` when
that is set. Identifiers inside free-text ``exclude_reason`` values are replaced too.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import pandas as pd

from tme.errors import TmeInputError


class Pseudonymiser:
    """Keyed, stable codes for identifiers.

    A key that does not exist yet is made in memory (:meth:`from_key_file` with ``create``) and
    written by :meth:`save_key` only once every input check has passed, so that a run stopped by
    bad input leaves no file behind.
    """

    def __init__(self, key: bytes, new_key_file: Path | None = None) -> None:
        if len(key) < 16:
            raise ValueError("a pseudonymisation key needs at least 16 bytes")
        self._key = key
        self._new_key_file = new_key_file

    @classmethod
    def from_key_file(cls, path: str | os.PathLike, *, create: bool = False) -> Pseudonymiser:
        """Read the hex key in ``path``; with ``create``, make a new random key if it is absent
        (written to ``path`` by :meth:`save_key`)."""
        path = Path(path)
        if create and not path.exists():
            return cls(secrets.token_bytes(32), new_key_file=path)
        try:
            return cls(bytes.fromhex(path.read_text().strip()))
        except FileNotFoundError:
            raise TmeInputError(
                "the pseudonymisation key file does not exist",
                file=path,
                fix="run the workflow once to create it, or restore the key of earlier runs",
            ) from None
        except ValueError:
            raise TmeInputError(
                "the pseudonymisation key file does not hold a hex key of at least 16 bytes",
                file=path,
                fix="restore the key file of earlier runs (codes change with the key)",
            ) from None

    def save_key(self) -> None:
        """Write a key made by :meth:`from_key_file` (owner-only permissions; never overwrites)."""
        if self._new_key_file is None:
            return
        self._new_key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._new_key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self._key.hex() + "\n")
        self._new_key_file = None

    def code(self, kind: str, value: str) -> str:
        digest = hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
        return f"{kind[0].upper()}-{digest[:12].upper()}"

    def apply(self, sheet: pd.DataFrame) -> pd.DataFrame:
        """Replace ``sample_id`` and ``patient_id`` (and IDs quoted in ``exclude_reason``) with codes."""
        mapping = {s: self.code("sample", s) for s in sheet["sample_id"]}
        mapping |= {p: self.code("patient", p) for p in sheet["patient_id"]}
        out = sheet.assign(sample_id=sheet["sample_id"].map(mapping), patient_id=sheet["patient_id"].map(mapping))
        if "exclude_reason" in out.columns and len(mapping):
            pattern = re.compile("|".join(re.escape(k) for k in sorted(mapping, key=len, reverse=True)))
            out["exclude_reason"] = out["exclude_reason"].map(
                lambda text: pattern.sub(lambda m: mapping[m.group(0)], text)
            )
        return out


def mapping_table(sheet: pd.DataFrame) -> pd.DataFrame:
    """``kind, id, code`` for every sample and patient of a pseudonymised sheet (``source_*`` columns)."""
    samples = pd.DataFrame({"kind": "sample", "id": sheet["source_id"], "code": sheet["sample_id"]})
    patients = pd.DataFrame(
        {"kind": "patient", "id": sheet["source_patient_id"], "code": sheet["patient_id"]}
    ).drop_duplicates()
    return pd.concat([samples, patients], ignore_index=True)
