"""Test and benchmark helpers: the site's layouts as templates, and hostile pages.

`layout` renders pages in the finews site's own Jekyll layouts; `hostile` builds a small site of
malformed and hostile pages for the fault-injection suite (issue 5). The local mirror server
they are served from is `localsite.mirror`.
"""
