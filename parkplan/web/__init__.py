"""The web server: Panel's server with sign-in, the JSON API and the pages around the app."""
