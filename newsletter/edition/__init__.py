"""The PDF edition of an issue (pdf.py), what it is served as (responses.py) and its
delivery to Kungliga biblioteket as a legal deposit copy (deposit.py)."""
