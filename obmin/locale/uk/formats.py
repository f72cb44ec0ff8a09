"""Ukrainian formats: Django's, except that amounts keep the decimal point.

Amounts and rates are what a customer copies into a wallet or bank app and compares with the
e-mails, the API and the monitors, which all write `0.0015 BTC`; the exchange form reads only
the point too. Anything not set here comes from `django.conf.locale.uk.formats`.
"""

DECIMAL_SEPARATOR = "."
