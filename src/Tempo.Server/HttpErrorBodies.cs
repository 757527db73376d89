using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Tempo.Server;

/// <summary>
/// The outermost middleware: every error the HTTP stack produces on its own (unknown route, wrong method, body too
/// large, body too slow, headers too large) gets the same OpenAI-style JSON body as an admission error, and is
/// counted in <c>tempo_requests_refused_total</c>. An exception no handler expected becomes a 500 with a body and
/// one log line, never an empty answer or a dead server.
/// </summary>
internal sealed class HttpErrorBodies(ServingMetrics metrics, ServerOptions options, ILogger logger)
{
    public async Task Invoke(HttpContext context, RequestDelegate next)
    {
        // Kestrel's own header limit is set above this one (see TempoServer), so a request between the two gets
        // a JSON answer; only a grossly larger one is cut off by Kestrel with its bare 431.
        if (HeaderBytes(context.Request) > options.MaxRequestHeadersBytes)
        {
            metrics.OnRejected("headers_too_large");
            await ServingEndpoints.WriteError(context, new ApiError(StatusCodes.Status431RequestHeaderFieldsTooLarge, $"The request headers exceed {options.MaxRequestHeadersBytes} bytes.", "invalid_request_error", null, "headers_too_large"));
            return;
        }

        try
        {
            await next(context);
        }
        catch (BadHttpRequestException e)
        {
            // Raised by Kestrel while a handler reads the body: too large (413), too slow (408), malformed framing (400).
            var code = Code(e.StatusCode);
            metrics.OnRejected(code);
            await ServingEndpoints.WriteError(context, new ApiError(e.StatusCode, Message(e.StatusCode, e.Message), "invalid_request_error", null, code));
            return;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            return; // the client went away; there is nobody to answer
        }
#pragma warning disable CA1031 // One request's unexpected failure must not become an empty 500 or reach the host.
        catch (Exception e)
#pragma warning restore CA1031
        {
            ServerLog.HandlerFailed(logger, context.Request.Method, context.Request.Path.Value ?? "", e);
            metrics.OnRejected("internal_error");
            await ServingEndpoints.WriteError(context, new ApiError(StatusCodes.Status500InternalServerError, "The server failed to handle this request; see the server log.", "server_error", null, "internal_error"));
            return;
        }

        var response = context.Response;
        if (!response.HasStarted && response.StatusCode >= 400 && response.ContentType is null && response.ContentLength is null or 0)
        {
            // Routing answered without a handler: 404 for an unknown path, 405 for a known path with the wrong method.
            var code = Code(response.StatusCode);
            metrics.OnRejected(code);
            await ServingEndpoints.WriteError(context, new ApiError(response.StatusCode, Message(response.StatusCode, null), response.StatusCode >= 500 ? "server_error" : "invalid_request_error", null, code));
        }
    }

    private static long HeaderBytes(HttpRequest request)
    {
        long total = 0;
        foreach (var (name, values) in request.Headers)
        {
            foreach (var v in values)
            {
                total += name.Length + (v?.Length ?? 0) + 4; // ": " and CRLF
            }
        }

        return total;
    }

    private static string Code(int status) => status switch
    {
        StatusCodes.Status404NotFound => "not_found",
        StatusCodes.Status405MethodNotAllowed => "method_not_allowed",
        StatusCodes.Status408RequestTimeout => "request_timeout",
        StatusCodes.Status411LengthRequired => "length_required",
        StatusCodes.Status413PayloadTooLarge => "body_too_large",
        StatusCodes.Status415UnsupportedMediaType => "unsupported_media_type",
        StatusCodes.Status431RequestHeaderFieldsTooLarge => "headers_too_large",
        _ => status >= 500 ? "server_error" : "bad_request",
    };

    private string Message(int status, string? detail) => status switch
    {
        StatusCodes.Status404NotFound => "Unknown route. This server serves POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health and GET /metrics.",
        StatusCodes.Status405MethodNotAllowed => "Method not allowed on this route.",
        StatusCodes.Status408RequestTimeout => "The request body arrived too slowly.",
        StatusCodes.Status413PayloadTooLarge => $"The request body exceeds {options.MaxRequestBodyBytes} bytes.",
        _ => detail is null ? $"The request was refused (HTTP {status})." : "Bad request: " + detail.ReplaceLineEndings(" "),
    };
}
