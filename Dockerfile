# The ResultGrid silo host, with its HTTP API. Build: docker build -t resultgrid-silo .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Silo/ResultGrid.Silo.csproj -c Release -o /app --nologo

# The ASP.NET Core runtime: the silo host serves the HTTP API (Kestrel) beside Orleans. The
# default 10.0 tag is Ubuntu 24.04, which keeps bash for docker-compose.yml's /readyz probe
# (the image has no curl or wget).
FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
# Published ports reach the silo only if it listens beyond the container's loopback.
ENV RESULTGRID__SILO__LISTENONANYADDRESS=true
# The same for HTTP. Anonymous requests are still served only from loopback (the container's
# own health check); anything reaching a published port arrives from Docker's network and needs
# a key: RESULTGRID__HTTP__KEYS__0__NAME, __SECRET (or __SHA256) and __ROLES, from .env.
ENV RESULTGRID__HTTP__URLS=http://0.0.0.0:5080
# The aspnet image sets ASPNETCORE_HTTP_PORTS=8080; emptied so that Kestrel binds only what
# ResultGrid:Http:Urls says instead of warning that it overrides it.
ENV ASPNETCORE_HTTP_PORTS=""
EXPOSE 5080 11111 30000
USER app
ENTRYPOINT ["dotnet", "ResultGrid.Silo.dll"]
