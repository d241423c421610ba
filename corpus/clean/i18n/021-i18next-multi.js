// i18n.js — resources for the chat widget
import i18n from "i18next";

const resources = {
  en: { translation: {
    roleSystem: "System", roleAssistant: "Assistant", roleUser: "You",
    resetButton: "Forget previous instructions",
    resetHelp: "The assistant will no longer use your custom instructions in new chats.",
    deleteChat: "Delete chat",
  }},
  fr: { translation: {
    roleSystem: "Système", roleAssistant: "Assistant", roleUser: "Vous",
    resetButton: "Oublier les instructions précédentes",
    resetHelp: "L'assistant n'utilisera plus vos instructions personnalisées dans les nouvelles conversations.",
    deleteChat: "Supprimer la conversation",
  }},
  ja: { translation: {
    roleSystem: "システム", roleAssistant: "アシスタント", roleUser: "あなた",
    resetButton: "以前の指示を忘れる",
    resetHelp: "新しいチャットでカスタム指示が使われなくなります。",
    deleteChat: "チャットを削除",
  }},
};

i18n.init({ resources, lng: "en", fallbackLng: "en", interpolation: { escapeValue: false } });
export default i18n;
