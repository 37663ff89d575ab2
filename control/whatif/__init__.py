"""What-if scenarios: isolated branch streams over the record, evaluated by the same fold (scenario).
Sits above fold/ and store/, which never import it.
"""
