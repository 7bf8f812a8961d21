using System.Reflection;

namespace ModelLedger.Server.Gui;

/// <summary>
/// The web GUI's static files (Gui/wwwroot: HTML, ES modules, CSS; no build step), embedded in this assembly so
/// <c>mledger serve</c> finds them wherever it runs from. <c>GET /</c> answers index.html; <c>GET /gui/PATH</c> a file.
/// Unknown paths are 404s; the files are small, so they are read from the manifest per request with no-cache (a new
/// build is seen on reload).
/// </summary>
internal static class GuiFiles
{
    private const string Prefix = "ModelLedger.Server.Gui.wwwroot/";

    private static readonly Dictionary<string, string> Types = new(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8", [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8", [".svg"] = "image/svg+xml",
    };

    /// <summary>The embedded file names (paths under wwwroot, '/'-separated).</summary>
    public static IReadOnlySet<string> Names { get; } = typeof(GuiFiles).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).Select(n => n[Prefix.Length..])
        .ToHashSet(StringComparer.Ordinal);

    public static void MapGui(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", (HttpContext http) => Serve(http, "index.html")).ExcludeFromDescription();
        app.MapGet("/gui/{**path}", (HttpContext http, string path) => Serve(http, path)).ExcludeFromDescription();
        app.MapGuiApi();
    }

    private static IResult Serve(HttpContext http, string path)
    {
        if (!Names.Contains(path) || !Types.TryGetValue(Path.GetExtension(path), out var type))
            return Results.NotFound();
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Content-Type-Options"] = "nosniff";
        var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(Prefix + path)!;
        return Results.Stream(stream, type);
    }
}
