"""The ground floor: long jobs and the processes they run in. Imports nothing of `app` or `converters`."""
