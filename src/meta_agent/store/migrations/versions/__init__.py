"""One module per revision, frozen: never edit a released one, add the next."""
