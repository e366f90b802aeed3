"""What leaves the warehouse: the access policy (`policy`), personal data (`privacy`), exports
and analyst files (`exports`), the shared tables' contracts (`contracts`) and Chinese labels
(`labels`)."""
