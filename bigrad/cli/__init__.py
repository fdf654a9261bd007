"""The ``bigrad`` command line: it parses arguments, calls the API and prints one-line
errors; and the demo it runs."""
