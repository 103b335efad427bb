"""Accounts, mailboxes and access rights: who may log in and whose calendar they may read."""

from __future__ import annotations

import hashlib
import secrets

from ews_sim.world import ids
from ews_sim.world.base import WorldBase, smtp_key
from ews_sim.world.errors import (
    AccessDenied,
    ImpersonateUserDenied,
    InvalidRequest,
    NonExistentMailbox,
)
from ews_sim.world.model import (
    Account,
    Folder,
    Mailbox,
    shallow_copy,
)
from ews_sim.world.recurrence import zone

#: Distinguished folders every mailbox has: (distinguished id, display name, folder class, parent).
_FOLDERS = (
    ("root", "", "", None),
    ("msgfolderroot", "Top of Information Store", "IPF.Note", "root"),
    ("calendar", "Calendar", "IPF.Appointment", "msgfolderroot"),
    ("inbox", "Inbox", "IPF.Note", "msgfolderroot"),
    ("deleteditems", "Deleted Items", "IPF.Note", "msgfolderroot"),
)


class Directory(WorldBase):
    """Mailboxes, service accounts, impersonation and delegate rights."""

    def add_mailbox(
        self,
        smtp: str,
        display_name: str,
        time_zone: str = "UTC",
        password: str | None = None,
        language: str = "en",
        auto_accept: bool = False,
    ) -> Mailbox:
        """Create a mailbox with its folders. With ``password`` its user can log in (login = SMTP address).

        ``language`` is the user's Outlook language: cancellations they send are prefixed "Canceled: ",
        "Abgesagt: ", "Отменено: "... accordingly. ``auto_accept`` makes it a resource mailbox (a room) that
        accepts invitations as soon as they arrive."""
        key = smtp_key(smtp)
        if "@" not in key:
            raise InvalidRequest(f"not an SMTP address: {smtp!r}")
        try:
            zone(time_zone)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from exc
        with self.lock:
            if key in self._mailboxes:
                raise InvalidRequest(f"mailbox {smtp} exists already")
            mailbox = Mailbox(key, display_name, time_zone, language=language, auto_accept=auto_accept)
            for distinguished, name, folder_class, parent in _FOLDERS:
                folder_key = hashlib.sha1(f"{key}/{distinguished}".encode()).digest()[:16]
                fid = ids.folder_id(key, folder_key)
                parent_id = mailbox.folders[parent].folder_id if parent else None
                mailbox.folders[distinguished] = Folder(
                    fid, ids.change_key(folder_key, 1), distinguished, name, folder_class, parent_id
                )
                self._folders[fid] = (key, distinguished)
            self._mailboxes[key] = mailbox
            self._records[key] = {}
            self._sync_generation[key] = 0
            if password is not None:
                self._accounts[key] = Account(key, password, impersonation=False, smtp=key, is_service=False)
            return mailbox.snapshot()

    def add_service_account(self, login: str, password: str, impersonation: bool = True) -> Account:
        """A service account; with ``impersonation`` it holds ApplicationImpersonation over every mailbox."""
        with self.lock:
            account = Account(login, password, impersonation=impersonation, smtp=None, is_service=True)
            self._accounts[smtp_key(login)] = account
            return shallow_copy(account)  # every field is immutable

    def authenticate(self, login: str, password: str) -> Account | None:
        """The account for these credentials, or None. Logins compare case-insensitively; ``DOMAIN\\user`` and
        ``user@domain`` forms of a service login are accepted too."""
        account = self.account(login)
        if account is None or not secrets.compare_digest(account.password.encode(), password.encode()):
            return None
        return account

    def account(self, login: str) -> Account | None:
        key = smtp_key(login)
        candidates = [key]
        if "\\" in key:
            candidates.append(key.split("\\", 1)[1])
        if "@" in key:
            candidates.append(key.split("@", 1)[0])
        with self.lock:
            for candidate in candidates:
                account = self._accounts.get(candidate)
                if account is not None and (candidate == key or account.is_service):
                    return shallow_copy(account)  # every field is immutable
        return None

    def can_impersonate(self, account: Account, smtp: str) -> bool:
        with self.lock:
            return account.impersonation and smtp_key(smtp) in self._mailboxes

    def grant_delegate(self, owner: str, delegate: str) -> None:
        """Give ``delegate`` Editor (delegate) rights on ``owner``'s calendar."""
        with self.lock:
            self._mailbox(owner).delegates.add(self._mailbox(delegate).smtp)

    def revoke_delegate(self, owner: str, delegate: str) -> None:
        with self.lock:
            self._mailbox(owner).delegates.discard(smtp_key(delegate))

    def mailboxes(self) -> list[Mailbox]:
        with self.lock:
            return [m.snapshot() for m in self._mailboxes.values()]

    def find_mailboxes(self, query: str) -> list[Mailbox]:
        """ResolveNames-style lookup: mailboxes whose SMTP address or display name starts with ``query`` (or whose
        display name has a word starting with it), case-insensitively, sorted by display name."""
        needle = query.strip().lower().removeprefix("smtp:")
        with self.lock:
            found = [
                m
                for m in self._mailboxes.values()
                if m.smtp.startswith(needle)
                or m.display_name.lower().startswith(needle)
                or any(word.startswith(needle) for word in m.display_name.lower().split())
            ]
            return [m.snapshot() for m in sorted(found, key=lambda m: (m.display_name.lower(), m.smtp))]

    def open_mailbox(self, account: Account, smtp: str | None = None, *, impersonate: bool = False) -> Mailbox:
        """The mailbox ``account`` may read: its own (``smtp`` None), an impersonated one, or a delegated one.

        Raises ImpersonateUserDenied (impersonation without the role), NonExistentMailbox, AccessDenied
        (another mailbox without delegate rights), MailboxUnavailable.
        """
        with self.lock:
            if impersonate:
                if not account.impersonation:
                    raise ImpersonateUserDenied()
                if smtp is None:
                    raise NonExistentMailbox()
                return self.mailbox(smtp)
            target = smtp or account.smtp
            if target is None:
                raise NonExistentMailbox("The account has no mailbox.")
            mailbox = self.mailbox(target)
            own = account.smtp is not None and smtp_key(account.smtp) == mailbox.smtp
            if not own and (account.smtp is None or smtp_key(account.smtp) not in mailbox.delegates):
                raise AccessDenied()
            return mailbox
