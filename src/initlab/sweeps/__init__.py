"""The papers' training experiments on the sweep engine (initlab.train): which runs form a group,
their data and the summaries of each experiment; their claim rules are in initlab.claims."""
