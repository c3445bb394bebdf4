<?xml version="1.0" encoding="UTF-8"?>
<xsl:stylesheet version="1.0"
  xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
  xmlns:atom="http://www.w3.org/2005/Atom"
  xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
  exclude-result-prefixes="atom itunes">
  <xsl:output method="html" encoding="UTF-8" indent="no" doctype-system="about:legacy-compat"/>

  <xsl:variable name="feed" select="/rss/channel/atom:link[@rel='self']/@href"/>

  <xsl:template match="/">
    <html lang="fr">
      <head>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <meta name="color-scheme" content="light dark"/>
        <meta name="robots" content="noindex"/>
        <title><xsl:value-of select="/rss/channel/title"/> · flux d’abonnement</title>
        <link rel="stylesheet" href="../assets/style.css"/>
      </head>
      <body class="feed-page">
        <a class="skip-link" href="#contenu">Aller au contenu</a>
        <header class="site-header">
          <p class="site-name"><a href="../">Podcasts</a></p>
        </header>
        <main id="contenu" tabindex="-1">
          <xsl:apply-templates select="/rss/channel"/>
        </main>
        <footer class="site-footer">
          <ul class="footer-links">
            <li><a href="../accessibilite/">Accessibilité</a></li>
            <li><a href="../mentions-legales/">Mentions légales</a></li>
          </ul>
        </footer>
        <script src="../assets/player.js" defer="defer"></script>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="channel">
    <section class="feed-notice" aria-labelledby="flux">
      <h2 id="flux">Vous consultez le flux d’abonnement de cette émission</h2>
      <p>Il est fait pour les applications de podcast : copiez son adresse dans la vôtre pour recevoir chaque nouvel épisode.</p>
      <div class="copy-field">
        <label for="adresse-flux">Adresse du flux</label>
        <div class="copy-row">
          <input id="adresse-flux" type="url" readonly="readonly" value="{$feed}"/>
          <button type="button" class="button copy" data-copy="adresse-flux" hidden="hidden">Copier l’adresse</button>
        </div>
        <p class="copy-status" role="status"></p>
      </div>
      <p><a href="abonnement/">Comment s’abonner dans les applications courantes</a></p>
    </section>
    <header class="feed-header">
      <div>
        <h1><xsl:value-of select="title"/></h1>
        <xsl:if test="itunes:author"><p class="meta author">Par <xsl:value-of select="itunes:author"/></p></xsl:if>
        <p><xsl:value-of select="description"/></p>
        <p><a href="{link}">Écouter sur le site de l’émission</a></p>
      </div>
    </header>
    <section aria-labelledby="episodes">
      <h2 id="episodes">Les épisodes</h2>
      <ol class="episodes">
        <xsl:for-each select="item">
          <li class="card">            <div class="card-body">
              <h3><a href="{link}"><xsl:value-of select="title"/></a></h3>
              <p class="meta">
                <xsl:call-template name="date"><xsl:with-param name="rfc822" select="pubDate"/></xsl:call-template>
                <xsl:if test="itunes:duration">
                  <xsl:text> · </xsl:text>
                  <xsl:call-template name="duration"><xsl:with-param name="seconds" select="itunes:duration"/></xsl:call-template>
                </xsl:if>
              </p>
            </div>
          </li>
        </xsl:for-each>
      </ol>
    </section>
  </xsl:template>

  <!-- "Mon, 26 Jun 2023 09:01:00 +0000" -> "26 juin 2023" -->
  <xsl:template name="date">
    <xsl:param name="rfc822"/>
    <xsl:variable name="rest" select="normalize-space(substring-after($rfc822, ','))"/>
    <xsl:variable name="month" select="substring-before(substring-after($rest, ' '), ' ')"/>
    <xsl:value-of select="number(substring-before($rest, ' '))"/>
    <xsl:text> </xsl:text>
    <xsl:choose>
      <xsl:when test="$month = 'Jan'">janvier</xsl:when>
      <xsl:when test="$month = 'Feb'">février</xsl:when>
      <xsl:when test="$month = 'Mar'">mars</xsl:when>
      <xsl:when test="$month = 'Apr'">avril</xsl:when>
      <xsl:when test="$month = 'May'">mai</xsl:when>
      <xsl:when test="$month = 'Jun'">juin</xsl:when>
      <xsl:when test="$month = 'Jul'">juillet</xsl:when>
      <xsl:when test="$month = 'Aug'">août</xsl:when>
      <xsl:when test="$month = 'Sep'">septembre</xsl:when>
      <xsl:when test="$month = 'Oct'">octobre</xsl:when>
      <xsl:when test="$month = 'Nov'">novembre</xsl:when>
      <xsl:otherwise>décembre</xsl:otherwise>
    </xsl:choose>
    <xsl:text> </xsl:text>
    <xsl:value-of select="substring-before(substring-after(substring-after($rest, ' '), ' '), ' ')"/>
  </xsl:template>

  <!-- itunes:duration in seconds -> "12 min 30 s" -->
  <xsl:template name="duration">
    <xsl:param name="seconds"/>
    <xsl:variable name="s" select="number($seconds)"/>
    <xsl:choose>
      <xsl:when test="$s &gt;= 3600">
        <xsl:value-of select="floor($s div 3600)"/> h <xsl:value-of select="format-number(floor(($s mod 3600) div 60), '00')"/> min
      </xsl:when>
      <xsl:when test="$s &gt;= 60">
        <xsl:value-of select="floor($s div 60)"/> min <xsl:value-of select="format-number($s mod 60, '00')"/> s
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$s"/> s</xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
