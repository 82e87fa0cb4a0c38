import array
from typing import Any, Dict, Iterable, List, Literal, Optional, Protocol, TypeVar, Union, overload

__version__: str
ABI_VERSION: str

class _Buffer(Protocol):
    """What the buffer protocol gives: numpy arrays, array.array, memoryview."""

    def __buffer__(self, flags: int, /) -> memoryview: ...

_B = TypeVar("_B", bound=_Buffer)
_N = TypeVar("_N", int, float)

@overload
def sort(
    values: _B,
    *,
    backend: Optional[str] = ...,
    reverse: bool = ...,
    inplace: Literal[False] = ...,
) -> _B: ...
@overload
def sort(
    values: List[_N],
    *,
    backend: Optional[str] = ...,
    reverse: bool = ...,
    inplace: Literal[False] = ...,
) -> List[_N]: ...
@overload
def sort(
    values: Iterable[_N],
    *,
    backend: Optional[str] = ...,
    reverse: bool = ...,
    inplace: Literal[False] = ...,
) -> List[_N]: ...
@overload
def sort(
    values: Union[List[int], List[float], _Buffer],
    *,
    backend: Optional[str] = ...,
    reverse: bool = ...,
    inplace: Literal[True],
) -> None: ...
@overload
def argsort(
    values: Iterable[Union[int, float]],
    *,
    backend: Optional[str] = ...,
    reverse: bool = ...,
) -> List[int]: ...
@overload
def argsort(
    values: _Buffer,
    *,
    backend: Optional[str] = ...,
    reverse: bool = ...,
) -> Union[array.array, Any]: ...
def backends() -> List[Dict[str, Any]]: ...
def features() -> Dict[str, List[str]]: ...
def refused() -> List[Dict[str, Any]]: ...
def shadowed() -> List[Dict[str, Any]]: ...
def search_path() -> List[Dict[str, Any]]: ...

class Error(Exception):
    """The base of every wildsort error."""

    cause: str
    help: str

class PluginError(Error):
    """A backend cannot be used: not found, or unavailable here."""

class BackendNotFound(PluginError):
    """No backend has the name asked for; the message lists those there are."""

class BackendUnavailable(PluginError):
    """The backend's plugin said it cannot run here, and why."""

class SortError(Error):
    """A sort was not done: the backend does not sort the type, or failed."""

class UnsupportedKeyType(SortError):
    """The backend does not sort the values' type."""
