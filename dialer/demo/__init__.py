"""`dialer demo`: the whole product on embedded defaults."""
