"""Who owns a file on Windows, and who may write it: the owner and the DACL from
``GetNamedSecurityInfoW``, through ``ctypes`` (no C extension: the VSIX is pure Python).

Windows has no POSIX modes; what ssh's StrictModes checks there is the file's owner and its access
control list. ``%USERPROFILE%\\.aliyun`` is private by inheritance, but a ``configPath`` on another
drive or a share may be writable by everyone. ``WindowsFs.insecurity`` asks :func:`read` for a path
outside the user's profile folder and applies :func:`verdict` to the answer; the tests give
:func:`verdict` injected answers on Linux.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any, Literal

#: SIDs that may own or write a user's file: the user (given), SYSTEM, Administrators, TrustedInstaller.
TRUSTED_SIDS = frozenset({"S-1-5-18", "S-1-5-32-544", "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"})
#: ``CREATOR OWNER``: an inheritable placeholder, not a real principal.
CREATOR_OWNER = "S-1-3-0"
#: Access bits that let a principal change the file's content or its rights.
WRITE_BITS = (
    0x00000002  # FILE_WRITE_DATA / FILE_ADD_FILE
    | 0x00000004  # FILE_APPEND_DATA / FILE_ADD_SUBDIRECTORY
    | 0x00010000  # DELETE
    | 0x00040000  # WRITE_DAC
    | 0x00080000  # WRITE_OWNER
    | 0x10000000  # GENERIC_ALL
    | 0x40000000  # GENERIC_WRITE
)
ACCESS_ALLOWED_ACE_TYPE = 0
INHERIT_ONLY_ACE = 0x08


@dataclass(frozen=True)
class Ace:
    sid: str
    #: ``ACCESS_ALLOWED_ACE_TYPE`` (0), or another type (denies are not a risk).
    ace_type: int
    flags: int
    mask: int


@dataclass(frozen=True)
class Security:
    owner: str
    #: None: no DACL at all, which grants everyone everything.
    aces: tuple[Ace, ...] | None
    user: str


def verdict(info: Security) -> tuple[Literal["owner", "writable"], str] | None:
    """Why ``info`` is unsafe for a file or folder of the user's config, and who is at fault."""
    if info.owner != info.user and info.owner not in TRUSTED_SIDS:
        return "owner", info.owner
    if info.aces is None:
        return "writable", "Everyone (no access control list)"
    for ace in info.aces:
        if ace.ace_type != ACCESS_ALLOWED_ACE_TYPE or ace.flags & INHERIT_ONLY_ACE or not ace.mask & WRITE_BITS:
            continue
        if ace.sid not in (info.user, CREATOR_OWNER) and ace.sid not in TRUSTED_SIDS:
            return "writable", ace.sid
    return None


# ----------------------------------------------------------------------------- the Win32 calls


def read(path: str) -> Security:
    """The owner and DACL of ``path`` and the current user's SID. Windows only; raises ``OSError``."""
    if not hasattr(ctypes, "WinDLL"):  # the Windows code run elsewhere (the tests' simulation)
        raise OSError(0, "the Win32 security API is not available here", path)
    from ctypes import wintypes

    advapi32: Any = ctypes.WinDLL("advapi32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32: Any = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    owner, dacl, descriptor = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
    # SE_FILE_OBJECT = 1; OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION = 0x1 | 0x4
    status = advapi32.GetNamedSecurityInfoW(
        ctypes.c_wchar_p(path), 1, 0x5, ctypes.byref(owner), None, ctypes.byref(dacl), None, ctypes.byref(descriptor)
    )
    if status != 0:
        raise OSError(0, "GetNamedSecurityInfoW failed", path, status)
    try:
        aces = None if not dacl.value else tuple(_aces(advapi32, dacl))
        return Security(_sid_text(advapi32, kernel32, owner), aces, _current_user(advapi32, kernel32, wintypes))
    finally:
        kernel32.LocalFree(descriptor)


class _AceHeader(ctypes.Structure):
    _fields_ = [("AceType", ctypes.c_ubyte), ("AceFlags", ctypes.c_ubyte), ("AceSize", ctypes.c_ushort)]


class _AccessAce(ctypes.Structure):
    _fields_ = [("Header", _AceHeader), ("Mask", ctypes.c_uint32), ("SidStart", ctypes.c_uint32)]


class _Acl(ctypes.Structure):
    _fields_ = [("AclRevision", ctypes.c_ubyte), ("Sbz1", ctypes.c_ubyte), ("AclSize", ctypes.c_ushort),
                ("AceCount", ctypes.c_ushort), ("Sbz2", ctypes.c_ushort)]


def _aces(advapi32: Any, dacl: ctypes.c_void_p) -> list[Ace]:
    found = []
    count = ctypes.cast(dacl, ctypes.POINTER(_Acl)).contents.AceCount
    for index in range(count):
        ace = ctypes.c_void_p()
        if not advapi32.GetAce(dacl, index, ctypes.byref(ace)):
            raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]
        access = ctypes.cast(ace, ctypes.POINTER(_AccessAce)).contents
        sid = ctypes.c_void_p(ace.value + _AccessAce.SidStart.offset)  # type: ignore[operator]
        found.append(Ace(_sid_text(advapi32, None, sid), access.Header.AceType, access.Header.AceFlags, access.Mask))
    return found


def _sid_text(advapi32: Any, kernel32: Any, sid: ctypes.c_void_p) -> str:
    text = ctypes.c_wchar_p()
    if not advapi32.ConvertSidToStringSidW(sid, ctypes.byref(text)):
        raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]
    try:
        return str(text.value)
    finally:
        (kernel32 or ctypes.WinDLL("kernel32")).LocalFree(text)  # type: ignore[attr-defined]


def _current_user(advapi32: Any, kernel32: Any, wintypes: Any) -> str:
    token = wintypes.HANDLE()
    # TOKEN_QUERY = 0x8
    if not advapi32.OpenProcessToken(kernel32.GetCurrentProcess(), 0x8, ctypes.byref(token)):
        raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]
    try:
        size = wintypes.DWORD()
        advapi32.GetTokenInformation(token, 1, None, 0, ctypes.byref(size))  # TokenUser = 1
        buffer = ctypes.create_string_buffer(size.value)
        if not advapi32.GetTokenInformation(token, 1, buffer, size, ctypes.byref(size)):
            raise ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]
        sid = ctypes.c_void_p.from_buffer(buffer)  # TOKEN_USER.User.Sid is its first field
        return _sid_text(advapi32, kernel32, sid)
    finally:
        kernel32.CloseHandle(token)
