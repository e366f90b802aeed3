"""Seeded demo deliveries: `python -m demo [--home DIR] [--seed N] [--end YYYY-MM-DD]`.

See demo.generate for what is written and which delivery defects appear where.
"""
