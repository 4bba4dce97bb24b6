"""The demo practice: ``flask demo seed`` builds it, ``flask demo logins`` lists its sign-ins."""
