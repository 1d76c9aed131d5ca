"""`scrapy crawl shanghaifabu`: the 上海发布新闻 category."""

from finews_crawler.spiders.category import CategorySpider


class ShanghaifabuSpider(CategorySpider):
    name = "shanghaifabu"
    category = "shanghaifabu"
