"""The mart: prepare the build copy from the raw store (`build`), gate it (`quality`), publish
the warehouse (`publish`)."""
