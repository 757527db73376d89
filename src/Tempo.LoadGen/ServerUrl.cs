namespace Tempo.LoadGen;

/// <summary>Normalises the server address a user gives to the root the OpenAI paths hang off.</summary>
public static class ServerUrl
{
    /// <summary>
    /// Parses an absolute http(s) URL such as <c>http://127.0.0.1:8000</c> or <c>http://host/v1</c> and returns the
    /// root without a trailing <c>/v1</c> (the generator appends <c>/v1/...</c> itself). Throws
    /// <see cref="ArgumentException"/> with a one-line message for anything else.
    /// </summary>
    public static Uri Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException($"--url: '{text}' is not an absolute http:// or https:// URL (for example http://127.0.0.1:8000).");
        }

        if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            throw new ArgumentException($"--url: '{text}' must not carry a query or fragment.");
        }

        var path = uri.AbsolutePath.TrimEnd('/');
        if (path.EndsWith("/v1", StringComparison.OrdinalIgnoreCase))
        {
            path = path[..^3];
        }

        return new UriBuilder(uri) { Path = path + "/" }.Uri;
    }

    /// <summary>The absolute address of <paramref name="relative"/> (for example <c>v1/models</c>) under <paramref name="root"/>.</summary>
    internal static Uri Combine(Uri root, string relative) => new(root, relative);
}
