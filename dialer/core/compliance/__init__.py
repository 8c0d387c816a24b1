"""The compliance rules and verdicts (pure): may this number be dialled now?

``check(number, campaign, now, data)`` applies every rule of the campaign's rules table
and returns a ``Verdict`` that lists every rule that blocks. The in-memory data it reads
(lists, consents, attempt ledgers) is kept current by ``dialer.store.compliance``.
"""

from dialer.core.compliance.campaign import (
    COMPLIANCE_KEYS,
    CampaignRules,
    parse_campaign_rules,
)
from dialer.core.compliance.check import FilterData, check, check_many, window_for
from dialer.core.compliance.history import (
    AbandonLedger,
    AttemptLedger,
    Consent,
    ConsentBook,
    History,
)
from dialer.core.compliance.lists import KINDS, DncList, ListSet
from dialer.core.compliance.numbers import NumberFacts, lead_facts, number_facts
from dialer.core.compliance.rules import RulesTable, parse_rules_table, rules_for
from dialer.core.compliance.verdict import REASONS, Detail, Verdict

__all__ = [
    "COMPLIANCE_KEYS", "KINDS", "REASONS", "AbandonLedger", "AttemptLedger", "CampaignRules",
    "Consent", "ConsentBook", "Detail", "DncList", "FilterData", "History", "ListSet",
    "NumberFacts", "RulesTable", "Verdict", "check", "check_many", "lead_facts",
    "number_facts", "parse_campaign_rules", "parse_rules_table", "rules_for", "window_for",
]
