"""The QA report as a page: `html.render` (the page), `svg` (the plots, drawn by hand),
`media` (the gallery's images as data: URIs); the template, style and script are in
`static/`."""
