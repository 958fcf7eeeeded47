"""The web portal (French, server-rendered): landing page, sign-up, activation, login."""
