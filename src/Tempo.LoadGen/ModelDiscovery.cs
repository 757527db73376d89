using System.Net.Http.Headers;
using System.Text.Json;

namespace Tempo.LoadGen;

/// <summary>Finds a model name to send when the user gave none: the first id of <c>GET /v1/models</c>.</summary>
internal static class ModelDiscovery
{
    /// <summary>The model name used when the server does not list any (llama.cpp and most single-model servers accept anything).</summary>
    public const string Fallback = "default";

    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(10);

    /// <summary>The first listed model id, or null with the reason when the list could not be read.</summary>
    public static async Task<(string? Model, string? Problem)> FirstModelAsync(HttpClient http, BenchOptions options, TimeProvider time, CancellationToken token)
    {
        using var timeout = new CancellationTokenSource(options.Timeout < MaxWait ? options.Timeout : MaxWait, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(token, timeout.Token);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, ServerUrl.Combine(options.BaseUrl, "v1/models"));
            if (options.ApiKey is { } key)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }

            using var response = await http.SendAsync(request, linked.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return (null, $"GET /v1/models answered {(int)response.StatusCode}");
            }

            await using var stream = await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
            using var doc = await JsonDocument.ParseAsync(stream, cancellationToken: linked.Token).ConfigureAwait(false);
            if (doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("data", out var data)
                && data.ValueKind == JsonValueKind.Array
                && data.GetArrayLength() > 0
                && data[0].ValueKind == JsonValueKind.Object
                && data[0].TryGetProperty("id", out var id)
                && id.ValueKind == JsonValueKind.String
                && !string.IsNullOrWhiteSpace(id.GetString()))
            {
                return (id.GetString(), null);
            }

            return (null, "GET /v1/models listed no model");
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            return (null, "GET /v1/models timed out");
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException)
        {
            return (null, $"GET /v1/models failed: {e.Message.ReplaceLineEndings(" ")}");
        }
    }
}
