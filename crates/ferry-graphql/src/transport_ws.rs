//! GraphQL over WebSocket: the `graphql-transport-ws` protocol of the `graphql-ws` library
//! (and the older `graphql-ws` protocol of subscriptions-transport-ws), chosen by the
//! client's `Sec-WebSocket-Protocol`; async-graphql speaks the protocol itself.

use std::sync::Arc;

use async_graphql::dynamic::Schema;
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, WebSocket as GraphQlWebSocket, WsMessage};
use ferry_core::ws::{self, CloseCode, CloseFrame, Message, WebSocketConfig};
use ferry_core::{IntoResponse, Request, Response};
use futures_util::{SinkExt, StreamExt};

/// Largest message a client may send (subscribe messages carry a query).
const MESSAGE_LIMIT: usize = 1 << 20;

/// Answers the handshake and serves the connection once it is upgraded.
pub(crate) fn accept(schema: &Arc<Schema>, request: &mut Request) -> Response {
    let config = WebSocketConfig::default()
        .max_message_size(Some(MESSAGE_LIMIT))
        .max_frame_size(Some(MESSAGE_LIMIT));
    let (response, upgrade) = match ws::upgrade(request, config, &ALL_WEBSOCKET_PROTOCOLS) {
        Ok(accepted) => accepted,
        Err(error) => return error.into_response(),
    };
    let schema = schema.as_ref().clone();
    let mut data = async_graphql::Data::default();
    data.insert(crate::request::RequestExtensions(Arc::new(
        request.extensions().clone(),
    )));
    tokio::spawn(async move {
        let protocol = upgrade
            .protocol()
            .and_then(|protocol| protocol.parse().ok());
        let Ok(socket) = upgrade.socket().await else {
            return;
        };
        let (mut sink, incoming) = socket.split();
        let Some(protocol) = protocol else {
            // As graphql-ws servers do when no subprotocol was agreed.
            let frame = CloseFrame {
                code: CloseCode::from(4406),
                reason: "Subprotocol not acceptable".into(),
            };
            let _ = sink.send(Message::Close(Some(frame))).await;
            return;
        };
        let messages = incoming
            .take_while(|message| std::future::ready(message.is_ok()))
            .filter_map(|message| {
                std::future::ready(match message {
                    Ok(Message::Text(text)) => Some(text.as_bytes().to_vec()),
                    Ok(Message::Binary(bytes)) => Some(bytes.to_vec()),
                    _ => None,
                })
            });
        let mut conversation =
            GraphQlWebSocket::new(schema, Box::pin(messages), protocol).connection_data(data);
        while let Some(message) = conversation.next().await {
            let message = match message {
                WsMessage::Text(text) => Message::text(text),
                WsMessage::Close(code, reason) => Message::Close(Some(CloseFrame {
                    code: CloseCode::from(code),
                    reason: reason.into(),
                })),
            };
            let closing = matches!(message, Message::Close(_));
            if sink.send(message).await.is_err() || closing {
                break;
            }
        }
    });
    response
}
