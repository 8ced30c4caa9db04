"""The worker's inputs and outputs: one buffer, laid out by the judge. The judge writes the
inputs at its start; the worker maps them read-only, writes the outputs after them, and the
judge reads those back once the worker has exited.

The judge knows every output a grading expects (its shape, and the dtypes it may have), so it
gives each a region of one buffer: a header slot (`worker.OUT_HEADER` bytes), then room for the
largest array it may be. The buffer is a sealed memfd (its size can change no more; where
there is none, an unlinked temporary file), passed to the worker as a file descriptor: no
directory of files to create, list, stat, open and remove, and no file the candidate could
replace with a link, a FIFO or a directory. The worker writes an output's bytes, then its
header (`worker._saver`); the judge reads a region's header, checks it is exactly what it
expects, then copies the bytes into an array of its own before any check reads them — or, when
no process can write the buffer any more (`writers_dead`) and the judge maps it, views them in
place, read-only, until the grading is over.

A warm pool (`pool.py`) hands the same buffer to one grading after another, so the worker
writes into memory that is already there instead of faulting in ~4,000 fresh pages (on a VM
that reports freed memory to its host, each costs several microseconds). Before a reused
buffer goes to a worker the judge overwrites all of it (`poison`): nothing a previous grading
wrote, not a header nor a byte, can be read or passed off as this grading's output. A buffer
is only reused when every process of the grading that had it is known to be dead (its PID
namespace or its pids cgroup was applied); otherwise it is closed.
"""

import os
from dataclasses import dataclass

from .categories import HarnessError
from .worker import OUT_HEADER, OUT_MAGIC

ALIGN = 64  # each region starts on a cache line (and the worker's views of the inputs are aligned)
PAGE = 4096  # what the buffer's size, and the part of it a grading clears, are multiples of
_POISON = b"\xff" * (1 << 20)  # a header that is not one; data that is NaN; flags that are -1
_MFD_SEALS = 0x0002 | 0x0004 | 0x0001  # F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL


_ITEMSIZE = {"int8": 1, "float32": 4, "float64": 8}


def accepted_dtypes(kind: str, x_dtype: str) -> tuple[str, ...]:
    """The dtypes an output of `kind` may have (`x_dtype`: its input's): the worker saves flags
    as int8, a snapshot as its input is, a stack of calls as float64, a call's result as it is."""
    if kind == "flags":
        return ("int8",)
    if kind == "snapshot":
        return (x_dtype,)
    if kind == "stack":
        return ("float64",)  # the worker stacks float32 and float64 results as float64
    return ("float32", "float64")


@dataclass(frozen=True)
class Layout:
    """Where each input lies (the worker's manifest: [key, dtype, shape, offset, count]; they
    end at `inputs_end`), and each output goes: name -> (offset, capacity in bytes, header
    included)."""

    inputs: list[list]
    inputs_end: int
    regions: dict[str, tuple[int, int]]
    size: int

    def for_worker(self, fd: int) -> dict:
        return {"fd": fd, "inputs_end": self.inputs_end, "regions": {k: list(v) for k, v in self.regions.items()}}


def layout(specs: dict[str, tuple[str, str, tuple]], inputs: dict) -> Layout:
    """The inputs' places (in the order of `inputs`), then the regions of every output in
    `specs` (name -> (input key, kind, shape)), each with room for its shape at the widest
    dtype the judge accepts for its kind."""
    manifest, offset = [], 0
    for key, array in inputs.items():
        manifest.append([key, array.dtype.str, list(array.shape), offset, array.size])
        offset += -(-array.nbytes // ALIGN) * ALIGN
    inputs_end, regions = offset, {}
    for name, (x_key, kind, shape) in specs.items():
        count = 1
        for d in shape:
            count *= int(d)
        x_dtype = inputs[x_key].dtype.name if kind == "snapshot" else ""
        itemsize = max(_ITEMSIZE[d] for d in accepted_dtypes(kind, x_dtype))
        capacity = OUT_HEADER + count * itemsize
        regions[name] = (offset, capacity)
        offset += -(-capacity // ALIGN) * ALIGN
    return Layout(manifest, inputs_end, regions, max(offset, ALIGN))


class OutputBuffer:
    """The file behind a grading's outputs: `fd` (close-on-exec; passed to the worker only),
    `size` bytes, never resized once made."""

    def __init__(self, size: int, mapped: bool = False) -> None:
        self.size = self.rounded(size)
        self.sealed = False
        self._map = None
        try:
            self.fd = os.memfd_create("vsd-outputs", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        except (AttributeError, OSError):
            import tempfile

            self.fd, path = tempfile.mkstemp(prefix="vsd-outputs-")  # not inheritable
            os.unlink(path)
        try:
            os.ftruncate(self.fd, self.size)
            try:
                import fcntl

                fcntl.fcntl(self.fd, fcntl.F_ADD_SEALS, _MFD_SEALS)
                self.sealed = True
            except (AttributeError, OSError):
                pass  # a temporary file: the worker could resize it, as it could its files
            if mapped:  # a buffer kept for many gradings: its pages stay in the judge's tables
                import mmap

                self._map = mmap.mmap(self.fd, self.size)
                self._bytes = memoryview(self._map)
        except OSError as ex:
            os.close(self.fd)
            raise HarnessError(f"the output buffer ({self.size} bytes) could not be made: {ex}") from ex
        self.used = 0  # how much of it a grading has handed to a worker (what `poison` covers)
        # No process can write it any more (the judge sets it once the worker's jail guarantees
        # that, `writers_dead`); cleared with the buffer for the next grading.
        self.settled = False

    def view(self, offset: int, dtype, count: int):
        """A read-only numpy array of `count` items of `dtype` at `offset`, viewing the judge's
        mapping of the buffer in place: only on a mapped (warm pool's) buffer that is `settled`,
        else None (the caller copies the bytes instead, `read_into`)."""
        if self._map is None or not self.settled:
            return None
        import numpy as np  # (only the judge keeps mapped buffers, and it has numpy)

        array = np.frombuffer(self._map, dtype=dtype, count=count, offset=offset)
        array.flags.writeable = False
        return array

    @staticmethod
    def rounded(size: int) -> int:
        return max(PAGE, -(-size // PAGE) * PAGE)

    def cleared_end(self, extent: int) -> int:
        """Where what `poison(extent)` covers ends: every page a grading could have written."""
        return min(self.size, self.rounded(max(extent, self.used)))

    def written_past(self, extent: int) -> bool:
        """Whether any byte past what `poison` covers holds data (True where that cannot be
        told)."""
        start = self.cleared_end(extent)
        if start >= self.size:
            return False
        try:
            return os.lseek(self.fd, start, os.SEEK_DATA) < self.size
        except OSError as ex:
            import errno

            return ex.errno != errno.ENXIO  # ENXIO: no data past `start`
        except AttributeError:
            return True

    def poison(self, extent: int) -> None:
        """Overwrite everything a previous grading could have written, and `extent` bytes."""
        end = self.cleared_end(extent)
        if self._map is not None:
            import numpy as np  # (only the judge keeps mapped buffers, and it has numpy)

            # numpy's fill is a memset that lets other threads run meanwhile (the grading
            # threads' judges), unlike a copy into the memoryview.
            np.frombuffer(self._map, dtype=np.uint8, count=end).fill(_POISON[0])
            self.used, self.settled = end, False
            return
        for start in range(0, end, len(_POISON)):
            n = min(len(_POISON), end - start)
            if os.pwrite(self.fd, _POISON[:n] if n < len(_POISON) else _POISON, start) != n:
                raise HarnessError("the output buffer could not be cleared")
        self.used, self.settled = end, False

    def write(self, offset: int, data) -> None:
        """Write `data` (a contiguous buffer) at `offset` (the judge's inputs)."""
        view = memoryview(data).cast("B")
        if self._map is not None:
            self._bytes[offset : offset + len(view)] = view
        elif os.pwrite(self.fd, view, offset) != len(view):
            raise HarnessError("the inputs could not be written to the buffer")
        self.used = max(self.used, offset + len(view))

    def write_inputs(self, layout: Layout, inputs: dict) -> None:
        """Every input at its place in `layout` (C order, as the worker views it)."""
        import numpy as np

        for key, _, _, offset, _ in layout.inputs:
            self.write(offset, np.ascontiguousarray(inputs[key]))

    def read(self, offset: int, size: int) -> bytes:
        if self._map is not None:
            return bytes(self._bytes[offset : offset + size])
        return os.pread(self.fd, size, offset)

    def read_into(self, target, offset: int) -> int:
        """Copy bytes from `offset` into `target` (a writable buffer); the count read."""
        if self._map is not None:
            n = max(0, min(len(target), self.size - offset))
            target[:n] = self._bytes[offset : offset + n]
            return n
        if hasattr(os, "preadv"):
            return os.preadv(self.fd, [target], offset)
        data = os.pread(self.fd, len(target), offset)
        target[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if self._map is not None:
            self._bytes.release()
            try:
                self._map.close()
            except BufferError:
                pass  # an in-place output still referenced somewhere: unmapped when it goes
            self._map = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def writers_dead(applied: list[str]) -> bool:
    """Whether no process can write a grading's buffer any more once its worker's `finish`
    has returned, from the measures its jail applied: its PID namespace (the kernel kills
    every process in it when the worker, its init, ends) or its pids cgroup (`finish` kills
    every member). Then the buffer may be read in place and, after clearing, reused."""
    return "pid-namespace" in applied or "pids-cgroup" in applied


def header(buffer: OutputBuffer, offset: int) -> bytes | None:
    """A region's header JSON (None: no header there, or not one the worker could write)."""
    raw = buffer.read(offset, OUT_HEADER)
    if len(raw) < len(OUT_MAGIC) + 4 or not raw.startswith(OUT_MAGIC):
        return None
    n = int.from_bytes(raw[len(OUT_MAGIC) : len(OUT_MAGIC) + 4], "little")
    start = len(OUT_MAGIC) + 4
    if n > OUT_HEADER - start:
        return None
    return raw[start : start + n]
