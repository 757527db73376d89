using System.Globalization;
using System.Net.Sockets;
using System.Text;


namespace Tempo.Functional.Tests.Server;

/// <summary>
/// HTTP/1.1 over a bare socket: sends exactly the bytes a hostile client would (any method, any path, headers with
/// CR/LF or control characters, invalid UTF-8), which HttpClient refuses to send, and reads the whole answer.
/// </summary>
internal static class RawHttp
{
    public sealed record Answer(int Status, string Body, IReadOnlyDictionary<string, string> Headers);

    public static async Task<Answer> SendAsync(Uri server, string method, string path, byte[]? body, IEnumerable<(string Name, string Value)> headers, CancellationToken token)
    {
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(server.Host, server.Port, token);
        await using var stream = client.GetStream();
        var head = new StringBuilder();
        head.Append(CultureInfo.InvariantCulture, $"{method} {path} HTTP/1.1\r\nHost: {server.Host}:{server.Port}\r\nConnection: close\r\n");
        foreach (var (name, value) in headers)
        {
            head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        }

        if (body is not null)
        {
            head.Append(CultureInfo.InvariantCulture, $"Content-Type: application/json\r\nContent-Length: {body.Length}\r\n");
        }

        head.Append("\r\n");
        await stream.WriteAsync(Encoding.Latin1.GetBytes(head.ToString()), token);
        if (body is not null)
        {
            try
            {
                await stream.WriteAsync(body, token);
            }
            catch (IOException)
            {
                // The server may answer (413) and close before reading a body it refused; read what it said.
            }
        }

        using var all = new MemoryStream();
        try
        {
            await stream.CopyToAsync(all, token);
        }
        catch (IOException)
        {
            // A reset after the answer was sent still leaves the answer readable.
        }

        return Parse(all.ToArray());
    }

    private static Answer Parse(byte[] raw)
    {
        var end = raw.AsSpan().IndexOf("\r\n\r\n"u8);
        Assert.True(end > 0, $"no complete HTTP answer: '{Encoding.UTF8.GetString(raw)}'");
        var lines = Encoding.Latin1.GetString(raw, 0, end).Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
        var body = raw.AsSpan(end + 4);
        if (headers.TryGetValue("transfer-encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            return new Answer(status, Encoding.UTF8.GetString(Dechunk(body)), headers);
        }

        return new Answer(status, Encoding.UTF8.GetString(body), headers);
    }

    private static byte[] Dechunk(ReadOnlySpan<byte> body)
    {
        using var result = new MemoryStream();
        while (!body.IsEmpty)
        {
            var lineEnd = body.IndexOf("\r\n"u8);
            var size = int.Parse(Encoding.ASCII.GetString(body[..lineEnd]), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (size == 0)
            {
                break;
            }

            result.Write(body.Slice(lineEnd + 2, size));
            body = body[(lineEnd + 2 + size + 2)..];
        }

        return result.ToArray();
    }
}
