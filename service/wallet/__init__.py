"""Wallets and learner record hosts: the 1EdTech OB 3.0 / CLR 2.0 service APIs and their OAuth 2.0 server."""
