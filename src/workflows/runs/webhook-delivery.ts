// The shape of one webhook delivery and the headers that carry it.
/** One webhook delivery: the exact JSON body is built and signed by the activity. */
export interface WebhookDelivery {
  /** Stable per run and event, sent as `X-Dbferry-Delivery` so receivers can drop duplicates. */
  deliveryId: string;
  event: string;
  url: string;
  payload: Record<string, unknown>;
}

export const WEBHOOK_SIGNATURE_HEADER = 'X-Signature';
export const WEBHOOK_DELIVERY_HEADER = 'X-Dbferry-Delivery';
export const WEBHOOK_EVENT_HEADER = 'X-Dbferry-Event';
