"""`dialer chaos`: real processes killed and restarted at random, invariants checked
against the simulators' own records and Postgres."""
