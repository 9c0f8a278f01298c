//! A message as an event file describes it: content, embeds and the mentions it may ping.
//! Plain data shared by the message actions.

use serde::{Deserialize, Serialize};

use crate::lang::templates::Template;

/// The body of a message: at least one of `content` and `embeds` (checked at load).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MessageSpec {
    pub content: Option<Template>,
    pub embeds: Vec<EmbedSpec>,
    pub allowed_mentions: AllowedMentions,
}

/// Which mentions a message may ping. Empty by default: caller-supplied text pings no one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AllowedMentions {
    /// Every user mention (Discord's `parse: ["users"]`).
    pub users: bool,
    /// Every role mention (`parse: ["roles"]`).
    pub roles: bool,
    pub everyone: bool,
    /// Only these users (Discord's `allowed_mentions.users`); empty when `users` is set.
    #[serde(default)]
    pub user_ids: Vec<u64>,
    /// Only these roles (Discord's `allowed_mentions.roles`); empty when `roles` is set.
    #[serde(default)]
    pub role_ids: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EmbedSpec {
    pub title: Option<Template>,
    pub description: Option<Template>,
    pub url: Option<Template>,
    pub color: Option<ColorSpec>,
    /// RFC 3339 after rendering.
    pub timestamp: Option<Template>,
    pub footer: Option<EmbedFooterSpec>,
    pub author: Option<EmbedAuthorSpec>,
    pub image: Option<Template>,
    pub thumbnail: Option<Template>,
    pub fields: Vec<EmbedFieldSpec>,
}

/// An integer written in the file, or a template that must render to `#rrggbb` or an integer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColorSpec {
    Fixed(u32),
    Template(Template),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbedFooterSpec {
    pub text: Template,
    pub icon_url: Option<Template>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbedAuthorSpec {
    pub name: Template,
    pub url: Option<Template>,
    pub icon_url: Option<Template>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbedFieldSpec {
    pub name: Template,
    pub value: Template,
    pub inline: bool,
}

/// One of `[[actions.buttons]]`: a button under a message. A click on a button with an `event`
/// runs that `button` event with `{button_value}` set to the rendered `value`; a `link` button
/// opens its `url` and starts nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ButtonSpec {
    pub label: Template,
    pub style: ButtonStyle,
    /// The id of the `button` event a click runs; `None` for a link button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Rendered when the message is sent; the clicked event's `{button_value}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Template>,
    /// A link button's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Template>,
}

/// A button's `style`, as event files name Discord's button styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ButtonStyle {
    #[default]
    Primary,
    Secondary,
    Success,
    Danger,
    Link,
}

impl ButtonStyle {
    pub const NAMES: [&'static str; 5] = ["primary", "secondary", "success", "danger", "link"];

    pub fn name(self) -> &'static str {
        match self {
            ButtonStyle::Primary => "primary",
            ButtonStyle::Secondary => "secondary",
            ButtonStyle::Success => "success",
            ButtonStyle::Danger => "danger",
            ButtonStyle::Link => "link",
        }
    }

    pub fn from_name(name: &str) -> Option<ButtonStyle> {
        use ButtonStyle as B;
        [B::Primary, B::Secondary, B::Success, B::Danger, B::Link]
            .into_iter()
            .find(|style| style.name() == name)
    }

    /// Discord's `ButtonStyle` number.
    pub fn discord_style(self) -> u8 {
        match self {
            ButtonStyle::Primary => 1,
            ButtonStyle::Secondary => 2,
            ButtonStyle::Success => 3,
            ButtonStyle::Danger => 4,
            ButtonStyle::Link => 5,
        }
    }
}

impl ButtonSpec {
    pub fn templates(&self) -> Vec<&Template> {
        [&self.value, &self.url]
            .into_iter()
            .flatten()
            .chain(std::iter::once(&self.label))
            .collect()
    }
}

impl MessageSpec {
    pub fn templates(&self) -> Vec<&Template> {
        let mut all: Vec<&Template> = self.content.iter().collect();
        for embed in &self.embeds {
            all.extend(embed.templates());
        }
        all
    }
}

impl EmbedSpec {
    pub fn templates(&self) -> Vec<&Template> {
        let mut all: Vec<&Template> = [
            &self.title,
            &self.description,
            &self.url,
            &self.timestamp,
            &self.image,
            &self.thumbnail,
        ]
        .into_iter()
        .flatten()
        .collect();
        if let Some(ColorSpec::Template(t)) = &self.color {
            all.push(t);
        }
        if let Some(footer) = &self.footer {
            all.push(&footer.text);
            all.extend(&footer.icon_url);
        }
        if let Some(author) = &self.author {
            all.push(&author.name);
            all.extend(&author.url);
            all.extend(&author.icon_url);
        }
        for field in &self.fields {
            all.push(&field.name);
            all.push(&field.value);
        }
        all
    }
}
