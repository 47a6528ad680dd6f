"""The claim rules of each paper (``initlab.claims.<paper>``): pure functions from measured tables to
ledger rows (``initlab.jobs.Job.claim`` arguments), each unit-tested where it must say
``reproduced`` and where it must say ``deviates``.  Statistics they use live in ``initlab.stats``."""
