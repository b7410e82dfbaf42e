-- Column documentation for dimensions, facts and KPIs, so analysts read meanings in the database itself.

COMMENT ON COLUMN dim_account.account_key IS 'platform:handle (lower case) for registered accounts; platform:pseudonym for the public';
COMMENT ON COLUMN dim_account.role IS 'owned, benchmark, media or public (from the city profile; unregistered = public)';
COMMENT ON COLUMN dim_account.is_registered IS 'listed in the city profile';

COMMENT ON COLUMN fct_post.account_key IS 'the publishing account (see dim_account)';
COMMENT ON COLUMN fct_post.role IS 'the publishing account''s role';
COMMENT ON COLUMN fct_post.published_week IS 'ISO week of publication in the reporting time zone, e.g. 2026-W47';
COMMENT ON COLUMN fct_post.format IS 'image, carousel, video, short_video, live or text';
COMMENT ON COLUMN fct_post.language IS 'ISO 639-1 language of the text, or und';
COMMENT ON COLUMN fct_post.themes IS 'lexicon themes found: culture, food, scenery, economy, livelihood, infrastructure, events';
COMMENT ON COLUMN fct_post.labels IS 'city labels found: mountain_city, bridge_city, 3d_8d_magic, hotpot, …';
COMMENT ON COLUMN fct_post.places IS 'gazetteer places named';
COMMENT ON COLUMN fct_post.lynch_elements IS 'Lynch elements of those places: paths, edges, districts, nodes, landmarks';
COMMENT ON COLUMN fct_post.is_city_mention IS 'names the city (any alias, any language), its hashtags or a gazetteer place';
COMMENT ON COLUMN fct_post.asset_key IS 'the asset a post is a language version of (asset:<key> in custom labels, title or text)';
COMMENT ON COLUMN fct_post.engagements IS 'E of the KPI catalogue per platform; null when the export lacks a component';
COMMENT ON COLUMN fct_post.latest_exported_at IS 'instant of the latest export that carried the post';
COMMENT ON COLUMN fct_post.snapshots IS 'number of export rows merged into this post';
COMMENT ON COLUMN fct_post.classification_rules IS 'the lexicon rules that fired, e.g. theme.culture:"hongyan"@en';

COMMENT ON COLUMN fct_post_metric_snapshot.exported_at IS 'the export instant the metrics were true at';
COMMENT ON COLUMN fct_post_metric_snapshot.age_days IS 'days from publication to the export';
COMMENT ON COLUMN fct_post_metric_snapshot.engagements IS 'E at that export; null when a component is missing';

COMMENT ON COLUMN fct_comment.post_account_key IS 'the account that published the post commented on';
COMMENT ON COLUMN fct_comment.author_key IS 'the author: a registered account''s key, or platform:pseudonym';
COMMENT ON COLUMN fct_comment.is_by_post_account IS 'written by the post''s own account (a reply from the city, say)';
COMMENT ON COLUMN fct_comment.is_top_level IS 'a comment on the post itself, not a reply to a comment';
COMMENT ON COLUMN fct_comment.created_week IS 'ISO week of writing in the reporting time zone';
COMMENT ON COLUMN fct_comment.sentiment IS 'positive, neutral, negative or not_rated (language not covered, spam, no words)';
COMMENT ON COLUMN fct_comment.first_reply_at IS 'the post account''s first reply under this comment';
COMMENT ON COLUMN fct_comment.first_reply_hours IS 'hours from the comment to that reply';
COMMENT ON COLUMN fct_comment.is_replied_7d IS 'the post account replied within 7 days';
COMMENT ON COLUMN fct_comment.classification_rules IS 'the lexicon rules that fired';

COMMENT ON COLUMN fct_mention.account_key IS 'the public author, pseudonymised';
COMMENT ON COLUMN fct_mention.sentiment IS 'positive, neutral, negative or not_rated';

COMMENT ON COLUMN fct_livestream.week_id IS 'ISO week the live started in, reporting time zone';
COMMENT ON COLUMN fct_livestream.duration_s IS 'length of the live in seconds';

COMMENT ON COLUMN fct_follower_day.day IS 'calendar day in the export''s own time zone';
COMMENT ON COLUMN fct_follower_day.followers IS 'followers at the end of the day, where the export gives a total';

COMMENT ON COLUMN fct_audience_country.country IS 'ISO 3166 alpha-2 code where the export allows, else the export''s name';
COMMENT ON COLUMN fct_audience_country.share IS 'share of the audience, 0-1, where the export gives a distribution';

COMMENT ON COLUMN fct_search_query.dimension IS 'query, page, country, device, appearance, date or hour';
COMMENT ON COLUMN fct_search_query.ctr IS 'click-through rate, 0-1';
COMMENT ON COLUMN fct_search_query.position IS 'average position, 1 = top';

COMMENT ON COLUMN kpi_weekly.kpi_id IS 'A1 … F5, see transforms/kpi_catalogue.yaml and docs/kpis.md';
COMMENT ON COLUMN kpi_weekly.scope IS 'account (one account on one platform) or role (owned or benchmark rolled up)';
COMMENT ON COLUMN kpi_weekly.platform IS 'null on a roll-up across platforms';
COMMENT ON COLUMN kpi_weekly.dimension IS 'the breakdown (theme, format, label, bucket, keyword …); null on the headline row';
COMMENT ON COLUMN kpi_weekly.value IS 'the figure; null when absent';
COMMENT ON COLUMN kpi_weekly.numerator IS 'so roll-ups are ratios of sums, never averages of ratios';
COMMENT ON COLUMN kpi_weekly.n IS 'posts, comments or items the figure is computed over';
COMMENT ON COLUMN kpi_weekly.status IS 'ok, flagged (young cohort or open reply window; see note) or absent (see note)';
