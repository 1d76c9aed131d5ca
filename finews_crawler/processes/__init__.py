"""Process plumbing: child processes driven from the crawl's event loop (`child`), the parser
processes (`parser_pool`, `parser_worker`) and the store's writer process (`store_writer`).
Parsing itself stays pure in `finews_crawler.parsing`; writing stays in `finews_crawler.store`."""
