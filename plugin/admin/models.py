"""The admin console's tables (defined in ``plugin.kernel.admin_records``, so that migrations can
load them without importing the console)."""

from plugin.kernel.admin_records import AdminAccount, AdminRecoveryCode, AdminSession, UsageJournalEntry

__all__ = ["AdminAccount", "AdminRecoveryCode", "AdminSession", "UsageJournalEntry"]
