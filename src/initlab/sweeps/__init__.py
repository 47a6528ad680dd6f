"""The papers' training experiments on the sweep engine (initlab.train): which runs form a group,
their data, the summaries and the claim rules of each experiment."""
