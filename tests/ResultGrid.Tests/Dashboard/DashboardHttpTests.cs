using System.Net;
using System.Text.RegularExpressions;
using static ResultGrid.Tests.HttpTests;

namespace ResultGrid.Tests;

/// <summary>
/// The dashboard as HTTP sees it (the browser suite drives it in Chromium): every page served
/// with its security headers and no inline script, everything a result holds encoded, the
/// results list searching and paging on SQLite and showing recent writes on memory, the live
/// feed, sign-in with a key, antiforgery on every action, the roles, and the path base.
/// </summary>
[Trait("Backend", "sqlite")]
public sealed partial class DashboardHttpTests(DashboardHttpTests.Silos fixture) : IClassFixture<DashboardHttpTests.Silos>
{
    public const string ReaderKey = "dash-reader-key-0123456789";
    public const string OperatorKey = "dash-operator-key-012345678";

    public sealed class Silos : IAsyncLifetime
    {
        private string? _directory;

        /// <summary>SQLite, loopback trusted with every role, extended results (names, workers) stored.</summary>
        public HttpSilo Sql { get; private set; } = null!;

        /// <summary>Memory, nothing indexed.</summary>
        public HttpSilo Memory { get; private set; } = null!;

        /// <summary>Only keys: a reader and an operator; no anonymous network.</summary>
        public HttpSilo Keyed { get; private set; } = null!;

        /// <summary>Under the path base /rg.</summary>
        public HttpSilo Based { get; private set; } = null!;

        public async ValueTask InitializeAsync()
        {
            var ct = TestContext.Current.CancellationToken;
            var extended = new Dictionary<string, string?>
            {
                ["ResultGrid:ExtendedResults"] = "true",
                ["ResultGrid:Serialization:AcceptContent:0"] = "json",
                ["ResultGrid:Serialization:AcceptContent:1"] = "raw",
            };
            var sql = HttpSilo.StartAsync(NewSqliteUrl(out _directory), extended, cancellationToken: ct, dashboard: true);
            var memory = HttpSilo.StartAsync("memory://", extended, cancellationToken: ct, dashboard: true);
            var keyed = HttpSilo.StartAsync("memory://", new Dictionary<string, string?>
            {
                ["ResultGrid:Http:AnonymousNetworks:0"] = "none",
                ["ResultGrid:Http:Keys:0:Name"] = "reader",
                ["ResultGrid:Http:Keys:0:Secret"] = ReaderKey,
                ["ResultGrid:Http:Keys:0:Roles"] = "read",
                ["ResultGrid:Http:Keys:1:Name"] = "operator",
                ["ResultGrid:Http:Keys:1:Secret"] = OperatorKey,
                ["ResultGrid:Http:Keys:1:Roles"] = "read,operate",
            }, cancellationToken: ct, dashboard: true);
            var based = HttpSilo.StartAsync("memory://", new Dictionary<string, string?> { ["ResultGrid:Http:PathBase"] = "/rg" }, cancellationToken: ct, dashboard: true);
            Sql = await sql;
            Memory = await memory;
            Keyed = await keyed;
            Based = await based;
        }

        public async ValueTask DisposeAsync()
        {
            await Sql.DisposeAsync();
            await Memory.DisposeAsync();
            await Keyed.DisposeAsync();
            await Based.DisposeAsync();
            if (_directory is not null)
            {
                try
                {
                    Directory.Delete(_directory, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }

    private static HttpClient Browser(HttpSilo silo) =>
        new(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = silo.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

    private static async Task<string> PageAsync(HttpClient http, string path, HttpStatusCode status = HttpStatusCode.OK)
    {
        using var response = await http.GetAsync(path, Ct);
        var html = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == status, $"GET {path}: expected {(int)status}, got {(int)response.StatusCode}: {html[..Math.Min(html.Length, 600)]}");
        Assert.StartsWith("text/html", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        return html;
    }

    private static string Token(string html) => TokenPattern().Match(html) is { Success: true } m ? WebUtility.HtmlDecode(m.Groups[1].Value) : throw new Xunit.Sdk.XunitException("no antiforgery token in the page");

    private static readonly int[] Inner = [1, 2, 3];
    private static readonly string[] Charts = ["writes", "reads", "waits", "latency"];

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();

    [GeneratedRegex("<script(?![^>]*\\bsrc=)[^>]*>")]
    private static partial Regex InlineScript();

    [Fact]
    public async Task Every_page_is_served_with_a_content_security_policy_and_no_inline_script()
    {
        var id = NewId("dash-page");
        await fixture.Sql.Client.MarkSucceededAsync(id, new { n = 1 }, cancellationToken: Ct);
        var group = NewId("dash-pgroup");
        await fixture.Sql.Client.SaveGroupAsync(group, [id], cancellationToken: Ct);
        string[] paths = ["", "results", "results/" + id, "results/" + id + "/forget", "groups", "groups/" + group, "doctor", "login"];
        foreach (var path in paths)
        {
            using var response = await fixture.Sql.Http.GetAsync(path, Ct);
            var html = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"/{path}: {(int)response.StatusCode} {html[..Math.Min(400, html.Length)]}");
            var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
            Assert.Equal("nosniff", string.Join(",", response.Headers.GetValues("X-Content-Type-Options")));
            Assert.False(InlineScript().IsMatch(html), $"/{path} has an inline script");
            Assert.Contains("<nav aria-label=\"Main\">", html, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Assets_are_embedded_and_cached_by_their_hash()
    {
        var html = await PageAsync(fixture.Sql.Http, "");
        var match = Regex.Match(html, "href=\"/assets/dashboard.css\\?v=([0-9a-f]+)\"");
        Assert.True(match.Success, "the page links its stylesheet by hash");
        using var css = await fixture.Sql.Http.GetAsync("assets/dashboard.css?v=" + match.Groups[1].Value, Ct);
        Assert.Equal(HttpStatusCode.OK, css.StatusCode);
        Assert.Equal("text/css", css.Content.Headers.ContentType?.MediaType);
        Assert.Contains("immutable", css.Headers.CacheControl?.ToString(), StringComparison.Ordinal);
        Assert.Contains("--bg", await css.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        using var js = await fixture.Sql.Http.GetAsync("assets/dashboard.js", Ct);
        Assert.Equal("text/javascript", js.Content.Headers.ContentType?.MediaType);
        Assert.Contains("EventSource", await js.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        using var missing = await fixture.Sql.Http.GetAsync("assets/nope.js", Ct);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Markup_in_a_value_a_name_a_traceback_and_an_id_is_shown_as_text()
    {
        const string Evil = "<script>alert('x')</script><img src=x onerror=alert(1)>";
        var id = NewId("dash-evil") + "<b>";
        await fixture.Sql.Client.MarkSucceededAsync(id, new { html = Evil }, new Client.ResultWriteOptions { Name = Evil, Worker = Evil }, Ct);
        var failed = NewId("dash-evil-fail");
        await fixture.Sql.Client.MarkFailedAsync(failed, new InvalidOperationException(Evil), new Client.ResultWriteOptions { Name = "tasks.evil" }, Ct);

        var detail = await PageAsync(fixture.Sql.Http, "results/" + Uri.EscapeDataString(id));
        var failure = await PageAsync(fixture.Sql.Http, "results/" + failed);
        var list = await PageAsync(fixture.Sql.Http, "results?limit=200");
        foreach (var html in new[] { detail, failure, list })
        {
            Assert.DoesNotContain("<script>alert", html, StringComparison.Ordinal);
            Assert.DoesNotContain("<img src=x", html, StringComparison.Ordinal);
            Assert.DoesNotContain("<b>", html, StringComparison.Ordinal);
        }

        Assert.Contains("&lt;script&gt;alert(", detail, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(", failure, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"traceback\"", failure, StringComparison.Ordinal);
        Assert.Contains("InvalidOperationException", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_binary_value_is_described_not_shown_and_can_be_downloaded()
    {
        var id = NewId("dash-binary");
        byte[] bytes = [0x80, 0x04, 0x95, 0x3C, 0x00, 0x3E, 0xFF];
        await fixture.Sql.Client.WriteAsync(new TaskResult { TaskId = id, State = TaskStates.Success, Payload = new ResultPayload { Data = bytes, ContentType = "application/octet-stream", ContentEncoding = "binary" } }, cancellationToken: Ct);
        var html = await PageAsync(fixture.Sql.Http, "results/" + id);
        Assert.Contains("data-testid=\"value-binary\"", html, StringComparison.Ordinal);
        Assert.Contains("application/octet-stream value of 7 bytes", html, StringComparison.Ordinal);
        var link = Regex.Match(html, "href=\"([^\"]+)\" download=").Groups[1].Value;
        Assert.Equal("/api/v1/results/" + id + "?raw=true", WebUtility.HtmlDecode(link));
        Assert.Equal(bytes, await fixture.Sql.Http.GetByteArrayAsync(WebUtility.HtmlDecode(link).TrimStart('/'), Ct));
    }

    [Fact]
    public async Task A_json_value_is_a_collapsible_tree_and_a_huge_one_is_capped()
    {
        var id = NewId("dash-tree");
        await fixture.Sql.Client.MarkSucceededAsync(id, new { outer = new { inner = Inner }, text = "hello" }, cancellationToken: Ct);
        var html = await PageAsync(fixture.Sql.Http, "results/" + id);
        Assert.Contains("<details open", html, StringComparison.Ordinal);
        Assert.Contains("<span class=\"json-key\">inner</span>", html, StringComparison.Ordinal);
        Assert.Contains("<span class=\"json-string\">&quot;hello&quot;</span>", html, StringComparison.Ordinal);

        var big = NewId("dash-big");
        await fixture.Sql.Client.MarkSucceededAsync(big, new string('x', 300 * 1024), cancellationToken: Ct);
        var capped = await PageAsync(fixture.Sql.Http, "results/" + big);
        Assert.Contains("data-testid=\"value-truncated\"", capped, StringComparison.Ordinal);
        Assert.True(capped.Length < 64 * 1024, $"the page of a 300 KiB value is {capped.Length} characters");
    }

    [Fact]
    public async Task The_results_list_filters_by_state_and_name_and_pages_with_a_cursor()
    {
        var name = NewId("tasks.dash-filter");
        var failed = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            var id = NewId("dash-f");
            if (i % 2 == 0)
            {
                await fixture.Sql.Client.MarkFailedAsync(id, new InvalidOperationException("no " + i), new Client.ResultWriteOptions { Name = name }, Ct);
                failed.Add(id);
            }
            else
            {
                await fixture.Sql.Client.MarkSucceededAsync(id, i, new Client.ResultWriteOptions { Name = name }, Ct);
            }
        }

        var first = await PageAsync(fixture.Sql.Http, $"results?state=FAILURE&name={Uri.EscapeDataString(name)}&limit=3");
        Assert.Contains("data-mode=\"search\"", first, StringComparison.Ordinal);
        var rows = Rows(first);
        Assert.Equal(3, rows.Count);
        var next = WebUtility.HtmlDecode(Regex.Match(first, "rel=\"next\" href=\"([^\"]+)\"").Groups[1].Value);
        Assert.Contains("cursor=", next, StringComparison.Ordinal);
        var second = Rows(await PageAsync(fixture.Sql.Http, next.TrimStart('/')));
        Assert.Single(second);
        Assert.Equal(failed.Order(StringComparer.Ordinal), rows.Concat(second).Order(StringComparer.Ordinal));

        var none = await PageAsync(fixture.Sql.Http, $"results?state=REVOKED&name={Uri.EscapeDataString(name)}");
        Assert.Contains("data-testid=\"empty\"", none, StringComparison.Ordinal);

        var bad = await PageAsync(fixture.Sql.Http, "results?state=failure", HttpStatusCode.BadRequest);
        Assert.Contains("did you mean FAILURE", bad, StringComparison.Ordinal);
        var unknown = await PageAsync(fixture.Sql.Http, "results?colour=red", HttpStatusCode.BadRequest);
        Assert.Contains("'colour' is not a filter", WebUtility.HtmlDecode(unknown), StringComparison.Ordinal);
    }

    private static List<string> Rows(string html) =>
        [.. Regex.Matches(html, "<tr data-task-id=\"([^\"]+)\"").Select(m => WebUtility.HtmlDecode(m.Groups[1].Value))];

    [Fact]
    public async Task Jumping_to_an_id_redirects_to_its_page_and_a_bad_id_is_named()
    {
        using var browser = Browser(fixture.Sql);
        using var jump = await browser.GetAsync("results?id=abc-123", Ct);
        Assert.Equal(HttpStatusCode.Redirect, jump.StatusCode);
        Assert.Equal("/results/abc-123", jump.Headers.Location?.OriginalString);
        var bad = await PageAsync(fixture.Sql.Http, "results?id=" + Uri.EscapeDataString(new string('a', 300)), HttpStatusCode.BadRequest);
        Assert.Contains("more than the limit of 255", bad, StringComparison.Ordinal);
        var pending = await PageAsync(fixture.Sql.Http, "results/" + NewId("dash-unknown"));
        Assert.Contains("data-testid=\"result-state\">PENDING", pending, StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_memory_the_list_shows_the_recent_writes_of_this_cluster()
    {
        var id = NewId("dash-recent");
        await fixture.Memory.Client.MarkStartedAsync(id, cancellationToken: Ct);
        await fixture.Memory.Client.MarkSucceededAsync(id, 5, cancellationToken: Ct);
        string html = string.Empty;
        Assert.True(await EventuallyAsync(async () => Rows(html = await PageAsync(fixture.Memory.Http, "results")).Contains(id), TimeSpan.FromSeconds(10)));
        Assert.Contains("data-mode=\"recent\"", html, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"recent-note\"", html, StringComparison.Ordinal);
        // Once, with its newest state.
        Assert.Single(Rows(html), r => r == id);
        var row = html[html.IndexOf($"data-task-id=\"{id}\"", StringComparison.Ordinal)..];
        Assert.Contains("data-testid=\"state\">SUCCESS", row[..row.IndexOf("</tr>", StringComparison.Ordinal)], StringComparison.Ordinal);
        var started = await PageAsync(fixture.Memory.Http, "results?state=STARTED");
        Assert.DoesNotContain(id, Rows(started));
    }

    [Fact]
    public async Task The_feed_streams_each_matching_write_as_it_is_written()
    {
        var name = NewId("tasks.feed");
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromSeconds(30));
        var (response, events) = await OpenEventsAsync(fixture.Sql.Http, fixture.Sql.Api($"feed/events?state=SUCCESS&name={Uri.EscapeDataString(name)}"), cts.Token);
        using (response)
        {
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            var skipped = NewId("dash-feed-fail");
            await fixture.Sql.Client.MarkFailedAsync(skipped, new InvalidOperationException("x"), new Client.ResultWriteOptions { Name = name }, cts.Token);
            var id = NewId("dash-feed");
            await fixture.Sql.Client.MarkSucceededAsync(id, 1, new Client.ResultWriteOptions { Name = name, Worker = "w-feed" }, cts.Token);
            ServerEvent? e;
            do
            {
                e = await events.NextAsync(cts.Token);
            }
            while (e is { IsComment: true });
            Assert.NotNull(e);
            Assert.Equal("result", e.Event);
            Assert.Equal(id, Text(e.Data, "taskId"));
            Assert.Equal("SUCCESS", Text(e.Data, "state"));
            Assert.Equal("w-feed", Text(e.Data, "worker"));
        }

        var recent = await ReadJsonAsync(await fixture.Sql.Http.GetAsync(fixture.Sql.Api($"feed?name={Uri.EscapeDataString(name)}"), Ct));
        Assert.Equal(2, recent.GetProperty("items").GetArrayLength());
        Assert.Equal("SUCCESS", Text(recent.GetProperty("items")[0], "state"));
        await ReadProblemAsync(await fixture.Sql.Http.GetAsync(fixture.Sql.Api("feed?limit=5000"), Ct), HttpStatusCode.BadRequest, "limit is '5000'", "1 to 1000");
    }

    [Fact]
    public async Task A_page_without_credentials_sends_to_sign_in_and_a_key_signs_in()
    {
        using var browser = Browser(fixture.Keyed);
        using (var denied = await browser.GetAsync("results", Ct))
        {
            Assert.Equal(HttpStatusCode.Redirect, denied.StatusCode);
            Assert.Equal("/login?returnUrl=%2Fresults", denied.Headers.Location?.OriginalString);
        }

        var login = await PageAsync(browser, "login?returnUrl=%2Fresults");
        using (var wrong = await browser.PostAsync("login", Form(Token(login), ("key", "not-a-key"), ("returnUrl", "/results")), Ct))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            var text = await wrong.Content.ReadAsStringAsync(Ct);
            Assert.Contains("not one of the keys", text, StringComparison.Ordinal);
            Assert.DoesNotContain("not-a-key", text, StringComparison.Ordinal);
        }

        using (var noToken = await browser.PostAsync("login", Form(null, ("key", ReaderKey)), Ct))
        {
            Assert.Equal(HttpStatusCode.BadRequest, noToken.StatusCode);
        }

        using (var signedIn = await browser.PostAsync("login", Form(Token(login), ("key", ReaderKey), ("returnUrl", "/results")), Ct))
        {
            Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
            Assert.Equal("/results", signedIn.Headers.Location?.OriginalString);
        }

        var page = await PageAsync(browser, "results");
        Assert.Matches("data-testid=\"user\"[^>]*>reader<", page);
        // The session works for the API the page listens to.
        using var stats = await browser.GetAsync(fixture.Keyed.Api("stats"), Ct);
        Assert.Equal(HttpStatusCode.OK, stats.StatusCode);

        // A fresh browser: the first one's token was issued before it signed in, and is refused now.
        using var fresh = Browser(fixture.Keyed);
        var freshLogin = await PageAsync(fresh, "login");
        using (var offsite = await fresh.PostAsync("login", Form(Token(freshLogin), ("key", ReaderKey), ("returnUrl", "https://evil.example/")), Ct))
        {
            Assert.Equal("/", offsite.Headers.Location?.OriginalString);
        }
    }

    private static FormUrlEncodedContent Form(string? token, params (string Key, string Value)[] fields) =>
        new((token is null ? fields : [.. fields, ("__RequestVerificationToken", token)]).Select(f => new KeyValuePair<string, string>(f.Key, f.Value)));

    private static async Task<HttpClient> SignedInAsync(HttpSilo silo, string key)
    {
        var browser = Browser(silo);
        var login = await PageAsync(browser, "login");
        using var response = await browser.PostAsync("login", Form(Token(login), ("key", key)), Ct);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return browser;
    }

    [Fact]
    public async Task A_reader_sees_no_actions_and_is_refused_them()
    {
        var id = NewId("dash-readonly");
        await fixture.Keyed.Client.MarkSucceededAsync(id, 1, cancellationToken: Ct);
        using var reader = await SignedInAsync(fixture.Keyed, ReaderKey);
        var detail = await PageAsync(reader, "results/" + id);
        Assert.DoesNotContain("data-testid=\"forget\"", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("data-testid=\"revoke\"", detail, StringComparison.Ordinal);
        using (var confirm = await reader.GetAsync($"results/{id}/forget", Ct))
        {
            Assert.Equal(HttpStatusCode.Forbidden, confirm.StatusCode);
        }

        using (var act = await reader.PostAsync($"results/{id}/forget", Form(Token(detail), ("x", "1")), Ct))
        {
            Assert.Equal(HttpStatusCode.Forbidden, act.StatusCode);
            Assert.Contains("needs the role 'operate'", WebUtility.HtmlDecode(await act.Content.ReadAsStringAsync(Ct)), StringComparison.Ordinal);
        }

        Assert.True(await fixture.Keyed.Client.ExistsAsync(id, Ct));

        using var op = await SignedInAsync(fixture.Keyed, OperatorKey);
        var opDetail = await PageAsync(op, "results/" + id);
        Assert.Contains("data-testid=\"forget\"", opDetail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Forget_and_revoke_need_the_antiforgery_token_and_then_act()
    {
        var id = NewId("dash-forget");
        await fixture.Sql.Client.MarkSucceededAsync(id, 1, cancellationToken: Ct);
        using var browser = Browser(fixture.Sql);
        var confirm = await PageAsync(browser, $"results/{id}/forget");
        Assert.Contains("data-testid=\"confirm\"", confirm, StringComparison.Ordinal);

        using (var forged = await browser.PostAsync($"results/{id}/forget", Form(null, ("x", "1")), Ct))
        {
            Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
            Assert.Contains("antiforgery token", await forged.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }

        // A token from another browser (its cookie does not match) is refused too.
        using var other = Browser(fixture.Sql);
        var otherToken = Token(await PageAsync(other, $"results/{id}/forget"));
        using (var crossed = await browser.PostAsync($"results/{id}/forget", Form(otherToken, ("x", "1")), Ct))
        {
            Assert.Equal(HttpStatusCode.BadRequest, crossed.StatusCode);
        }

        Assert.True(await fixture.Sql.Client.ExistsAsync(id, Ct));
        using (var done = await browser.PostAsync($"results/{id}/forget", Form(Token(confirm), ("x", "1")), Ct))
        {
            Assert.Equal(HttpStatusCode.Redirect, done.StatusCode);
            Assert.Equal($"/results/{id}?done=forgotten", done.Headers.Location?.OriginalString);
        }

        Assert.False(await fixture.Sql.Client.ExistsAsync(id, Ct));

        var revoked = NewId("dash-revoke");
        await fixture.Sql.Client.MarkStartedAsync(revoked, cancellationToken: Ct);
        var revokeForm = await PageAsync(browser, $"results/{revoked}/revoke");
        using (var done = await browser.PostAsync($"results/{revoked}/revoke", Form(Token(revokeForm), ("reason", "operator said so")), Ct))
        {
            Assert.Equal(HttpStatusCode.Redirect, done.StatusCode);
        }

        Assert.Equal(TaskStates.Revoked, await fixture.Sql.Client.GetStateAsync(revoked, Ct));

        var success = NewId("dash-revoke-success");
        await fixture.Sql.Client.MarkSucceededAsync(success, 1, cancellationToken: Ct);
        var successForm = await PageAsync(browser, $"results/{success}/revoke");
        using (var kept = await browser.PostAsync($"results/{success}/revoke", Form(Token(successForm)), Ct))
        {
            Assert.Equal(HttpStatusCode.Conflict, kept.StatusCode);
            Assert.Contains("never replaced", await kept.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }

        Assert.Equal(TaskStates.Success, await fixture.Sql.Client.GetStateAsync(success, Ct));
    }

    [Fact]
    public async Task Every_url_of_a_page_sits_under_the_path_base()
    {
        var id = NewId("dash-based");
        await fixture.Based.Client.MarkSucceededAsync(id, 1, cancellationToken: Ct);
        var html = await PageAsync(fixture.Based.Http, "rg/results/" + id);
        var urls = Regex.Matches(html, "(?:href|src|action|data-root|data-api|data-live)=\"([^\"]+)\"").Select(m => WebUtility.HtmlDecode(m.Groups[1].Value)).Where(u => !u.StartsWith('#') && !u.StartsWith("data:", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(urls);
        Assert.All(urls, u => Assert.StartsWith("/rg/", u, StringComparison.Ordinal));
        using var beside = await fixture.Based.Http.GetAsync("results/" + id, Ct);
        Assert.Equal(HttpStatusCode.NotFound, beside.StatusCode);
        using var css = await fixture.Based.Http.GetAsync("rg/assets/dashboard.css", Ct);
        Assert.Equal(HttpStatusCode.OK, css.StatusCode);
    }

    [Fact]
    public async Task The_group_page_shows_progress_each_child_and_the_chord_body()
    {
        var children = Enumerable.Range(0, 4).Select(_ => NewId("dash-child")).ToArray();
        var group = NewId("dash-group");
        await fixture.Sql.Client.SaveGroupAsync(group, children, cancellationToken: Ct);
        await fixture.Sql.Client.MarkSucceededAsync(children[0], 1, cancellationToken: Ct);
        await fixture.Sql.Client.MarkFailedAsync(children[1], new InvalidOperationException("no"), cancellationToken: Ct);
        var html = await PageAsync(fixture.Sql.Http, "groups/" + group);
        var progress = Regex.Match(html, "<progress [^>]*>");
        Assert.True(progress.Value.Contains("value=\"2\"", StringComparison.Ordinal) && progress.Value.Contains("max=\"4\"", StringComparison.Ordinal), progress.Value);
        Assert.Contains("2 of 4 complete · 1 succeeded · 1 failed · 2 waiting", WebUtility.HtmlDecode(html), StringComparison.Ordinal);
        Assert.Equal(children, Rows(html));
        Assert.Contains($"data-live=\"/api/v1/groups/{group}/events\"", html, StringComparison.Ordinal);
        var missing = await PageAsync(fixture.Sql.Http, "groups/" + NewId("dash-nogroup"), HttpStatusCode.NotFound);
        Assert.Contains("No group", missing, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_overview_counts_states_and_names_the_backend_and_its_checks()
    {
        await fixture.Sql.Client.MarkFailedAsync(NewId("dash-ov"), new InvalidOperationException("x"), cancellationToken: Ct);
        var html = await PageAsync(fixture.Sql.Http, "");
        var failures = Regex.Match(html, "data-testid=\"count-FAILURE\">([0-9,]+)<");
        Assert.True(failures.Success && long.Parse(failures.Groups[1].Value.Replace(",", string.Empty, StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture) >= 1, "the FAILURE count is shown");
        Assert.Contains("data-testid=\"backend\">db+sqlite:", html, StringComparison.Ordinal);
        Assert.Contains("data-healthy=\"true\"", html, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"facts\"", html, StringComparison.Ordinal);
        foreach (var chart in Charts)
        {
            Assert.Contains($"data-testid=\"chart-{chart}\"", html, StringComparison.Ordinal);
        }

        Assert.Contains("data-live=\"/api/v1/stats/events\"", html, StringComparison.Ordinal);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromSeconds(20));
        var (response, events) = await OpenEventsAsync(fixture.Sql.Http, fixture.Sql.Api("stats/events"), cts.Token);
        using (response)
        {
            var e = await events.NextAsync(cts.Token);
            Assert.Equal("stats", e?.Event);
            Assert.True(e!.Data.GetProperty("states").TryGetProperty("FAILURE", out _));
        }
    }
}

/// <summary>The result page's timeline, from the state history, on a silo that keeps it.</summary>
[Trait("Backend", "sqlite")]
public sealed class DashboardTimelineTests
{
    [Fact]
    public async Task The_timeline_lists_each_state_change_oldest_first_and_says_when_history_is_off()
    {
        var url = NewSqliteUrl(out var directory);
        try
        {
            await using var silo = await HttpSilo.StartAsync(url, new Dictionary<string, string?> { ["ResultGrid:History:Enabled"] = "true", ["ResultGrid:ExtendedResults"] = "true" }, dashboard: true, cancellationToken: Ct);
            var id = NewId("dash-timeline");
            await silo.Client.MarkStartedAsync(id, new Client.ResultWriteOptions { Worker = "w-1" }, Ct);
            await silo.Client.MarkRetryAsync(id, new TimeoutException("the <db> timed out"), 1, new Client.ResultWriteOptions { Worker = "w-1", Retries = 1 }, Ct);
            await silo.Client.MarkSucceededAsync(id, 42, new Client.ResultWriteOptions { Worker = "w-2" }, Ct);
            using var response = await silo.Http.GetAsync("results/" + id, Ct);
            var html = await response.Content.ReadAsStringAsync(Ct);
            var timeline = html[html.IndexOf("data-testid=\"timeline\"", StringComparison.Ordinal)..];
            timeline = timeline[..timeline.IndexOf("</ol>", StringComparison.Ordinal)];
            Assert.Equal(["STARTED", "RETRY", "SUCCESS"], System.Text.RegularExpressions.Regex.Matches(timeline, "<li data-state=\"([A-Z]+)\"").Select(m => m.Groups[1].Value));
            Assert.Contains("the &lt;db&gt; timed out", timeline, StringComparison.Ordinal);
            Assert.Contains("retry 1", timeline, StringComparison.Ordinal);
            Assert.Contains("w-2", timeline, StringComparison.Ordinal);
        }
        finally
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        await using var off = await HttpSilo.StartAsync("memory://", dashboard: true, cancellationToken: Ct);
        await off.Client.MarkSucceededAsync("dash-timeline-off", 1, cancellationToken: Ct);
        var page = await off.Http.GetStringAsync("results/dash-timeline-off", Ct);
        Assert.Contains("data-testid=\"timeline-off\"", page, StringComparison.Ordinal);
    }
}
