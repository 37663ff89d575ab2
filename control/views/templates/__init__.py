"""Templates of the interactive page (page.html, page.css, page.js), shipped as package data."""
