"""What users see: text and JSON (render), chart data and drawing (chartdata, plotting), exports
(exports), the offline HTML page and its templates (page, templates/), and atomic file output
(files).
"""
