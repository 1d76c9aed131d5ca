"""The local copy of the finews site that the tests, `make demo` and `bench/` run against.

Not part of the product: it lives beside `finews_crawler` (the wheel holds neither it nor
`tests`), and is imported from the repository root (pytest's `pythonpath = ["."]`,
`python -m localsite...` run there, `bench/` scripts put the root on `sys.path`). One module
per concern:

- `server`: `MirrorServer` and `serve()`, a loopback HTTP server that serves a folder the way
  the site's static host does; `setting_args` turns its crawl settings into `-s` options;
- `faults`: `FaultPlan`, which requests fail and how (issue 5);
- `requestlog`: `RequestLog`, every request the server answered, for assertions;
- `share`: `ShareMode` and the share page of the host that is gone;
- `layout`: the site's Jekyll layouts as templates, for synthetic pages;
- `hostile`: a small site of malformed and hostile pages (issue 5);
- `demo`: `make demo` (`python -m localsite.demo`);
- `__main__`: the server on the command line (`python -m localsite SITE --port 8000`).
"""
